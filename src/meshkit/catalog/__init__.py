"""The mesh catalog: model, building from dbt artifacts, storage, sync and search."""

from meshkit.catalog.model import Catalog
from meshkit.catalog.sync import SyncResult, sync

__all__ = ["Catalog", "SyncResult", "sync"]
