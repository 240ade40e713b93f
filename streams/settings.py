"""Settings of the stream processors (``SHOPFLOOR_STREAMS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from shopfloor.settings import PROJECT_ROOT
from shopfloor.settings._base import Settings, settings_config


class StreamsSettings(Settings):
    model_config = settings_config("streams")

    # Raw sink: a consumer group, so several processes share the partitions.
    raw_group_id: str = "shopfloor-raw"
    raw_batch_max: Annotated[int, Field(ge=1)] = 5000
    # How long a poll waits for a batch to fill: bounds the latency of machine_current_state.
    raw_poll_timeout_s: Annotated[float, Field(gt=0)] = 0.1
    raw_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9110

    # Utilization flow (bytewax).
    plant_file: Path = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"
    # Events up to this late (system time behind their machine's newest event) still count in their
    # minute; later ones go to late_event.
    lateness_s: Annotated[float, Field(ge=0)] = 10.0
    # KafkaSource batch size: bytewax's windowing runs ~60x faster on batches of 1,000 than of 1.
    source_batch_size: Annotated[int, Field(ge=1)] = 1000
    recovery_dir: Path = PROJECT_ROOT / ".state" / "recovery" / "utilization"
    # Created once and never changed: the most bytewax workers that will ever run this flow.
    recovery_partitions: Annotated[int, Field(ge=1)] = 4
    snapshot_interval_s: Annotated[float, Field(gt=0)] = 5.0
    # Keep snapshots this long so a resume can still find a consistent one (bytewax's backup interval).
    backup_interval_s: Annotated[float, Field(ge=0)] = 30.0
    workers: Annotated[int, Field(ge=1)] = 1
    utilization_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9111
