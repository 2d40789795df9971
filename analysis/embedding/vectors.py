"""Vectors between numpy and the store's Arrow list columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def vectors_from_arrow(column: pa.ChunkedArray | pa.Array, dim: int) -> np.ndarray:
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(arr) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    return arr.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(arr), dim)


def to_arrow_lists(vecs: np.ndarray) -> pa.Array:
    flat = pa.array(vecs.astype(np.float32).ravel(), type=pa.float32())
    offsets = pa.array(np.arange(0, vecs.size + 1, vecs.shape[1], dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat)
