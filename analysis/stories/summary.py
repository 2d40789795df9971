"""A story as the later passes see it: a vector sum, a size and a time span."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass
class StorySummary:
    key: int
    total: np.ndarray  # sum of member vectors
    size: int
    first: datetime
    last: datetime
