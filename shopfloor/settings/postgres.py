"""PostgreSQL settings (``SHOPFLOOR_PG_*``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from shopfloor.settings._base import Settings, settings_config


class PostgresSettings(Settings):
    model_config = settings_config("pg")

    host: str = "127.0.0.1"
    port: int = 15432
    user: str = "shopfloor"
    password: SecretStr = SecretStr("shopfloor")
    dbname: str = "shopfloor"
    # Tests give each test module its own schema; production uses public.
    db_schema: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "public"
    pool_min: Annotated[int, Field(ge=0)] = 1
    pool_max: Annotated[int, Field(ge=1)] = 8
    # Days of raw telemetry kept before the retention policy drops old partitions / chunks.
    raw_retention_days: Annotated[int, Field(ge=1)] = 90
    # How many daily partitions to keep created ahead of time on plain PostgreSQL.
    partitions_ahead_days: Annotated[int, Field(ge=1)] = 3

    def conninfo(self) -> str:
        """libpq connection string; the password stays out of repr and logs."""
        return (
            f"host={self.host} port={self.port} user={self.user} dbname={self.dbname} "
            f"password={self.password.get_secret_value()} options='-c search_path={self.db_schema},public'"
        )
