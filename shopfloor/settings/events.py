"""What a receiver at the boundary accepts as an event (``SHOPFLOOR_EVENTS_*``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field

from shopfloor.settings._base import Settings, settings_config


class EventSettings(Settings):
    model_config = settings_config("events")

    # How far ahead of the receiver's clock an event time may be: edge clocks drift (NTP keeps them within
    # a second or so); anything further ahead is a broken clock and is dead-lettered as future_ts.
    max_future_skew_s: Annotated[float, Field(ge=0)] = 300.0
    # The plant model whose process values declare each quantity's unit (forming_force in kN, ...);
    # unset, a process value's unit need only be a known one.
    plant_file: Path | None = None

    @property
    def max_future_skew(self) -> timedelta:
        return timedelta(seconds=self.max_future_skew_s)
