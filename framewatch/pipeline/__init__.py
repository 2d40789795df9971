"""Orchestration: runs and their records, the stages that combine crawler and analysis."""
