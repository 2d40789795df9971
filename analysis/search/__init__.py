"""Search: one query language over the store (words, phrases, filters, meaning)."""
