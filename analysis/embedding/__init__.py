"""Embedding models behind one interface: ``base.Embedder``, chosen by ``select``.

Nothing outside this package knows which library computes a vector.
"""
