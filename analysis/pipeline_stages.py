"""The analysis stages that ``framewatch run`` executes after fetching, in order."""

from __future__ import annotations

STAGES: list = []
