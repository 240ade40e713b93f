"""Replay settings (``SHOPFLOOR_REPLAY_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from shopfloor.settings import PROJECT_ROOT
from shopfloor.settings._base import Settings, settings_config


class ReplaySettings(Settings):
    model_config = settings_config("replay")

    # Each rebuild gets a fresh recovery directory under this root: never the live dataflow's store.
    recovery_root: Path = PROJECT_ROOT / ".state" / "replay"
    # Records per Kafka read and per raw-table write (one transaction each).
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 5000
