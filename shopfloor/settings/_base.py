"""Shared base of the settings classes: every concern reads ``SHOPFLOOR_<CONCERN>_*`` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def settings_config(concern: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=f"SHOPFLOOR_{concern.upper()}_",
        env_file=None,
        extra="ignore",
        frozen=True,
    )


class Settings(BaseSettings):
    """Marker base; concrete settings set ``model_config = settings_config(...)``."""
