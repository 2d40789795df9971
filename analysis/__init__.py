"""Analysis: embeddings, stories, framing and comparisons over the store's articles."""
