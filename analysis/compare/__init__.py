"""Comparisons across outlet groups: blind spots, framing splits, watches."""
