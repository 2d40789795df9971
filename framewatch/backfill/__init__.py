"""Backfills: months or years of articles from files or WARC archives, analysed at scale.

``framewatch backfill`` plans the input into Parquet partitions beside the store,
analyses them on an engine (in-process, or Ray for a cluster), loads them in input
order and clusters stories on the driver: the same tables, ids and results as
``import`` followed by ``analyze``, and resumable after a kill.
"""

from framewatch.backfill.run import BackfillOptions, BackfillReport, backfill, work_folder

__all__ = ["BackfillOptions", "BackfillReport", "backfill", "work_folder"]
