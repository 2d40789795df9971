"""The crawler: feeds, polite HTTP fetching, text extraction."""
