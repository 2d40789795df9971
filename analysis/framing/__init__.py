"""Framing: how each article frames its story, against a codebook of frames."""
