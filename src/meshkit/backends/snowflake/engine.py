"""The Snowflake engine: production, configured by ``SNOWFLAKE_*`` environment variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshkit import config as cfg
from meshkit.backends import Capabilities, Engine

if TYPE_CHECKING:
    from meshkit.backends.snowflake.catalog_store import SnowflakeCatalogStore


class SnowflakeEngine(Engine):
    # Grants keep consumers to the secure views; the catalog marts are not built here yet.
    capabilities = Capabilities(query=False, access_control=True, catalog_marts=False,
                                built_relations=False)
    target: cfg.SnowflakeTarget

    def check_ready(self) -> None:
        from meshkit.backends.snowflake.profiles import SnowflakeSettings

        # dbt's profile cannot say "one of password / key file / browser": check up front so a
        # missing variable is named instead of surfacing as a Snowflake login error mid-build.
        SnowflakeSettings.from_env()

    def catalog_store(self) -> SnowflakeCatalogStore:
        from meshkit.backends.snowflake.catalog_store import SnowflakeCatalogStore

        return SnowflakeCatalogStore(database=self.target.governance_database)
