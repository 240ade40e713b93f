"""Local stack settings (``SHOPFLOOR_STACK_*``): where the servers keep data and logs, and their ports."""

from __future__ import annotations

from pathlib import Path

from shopfloor.settings._base import PROJECT_ROOT, Settings, settings_config


class StackSettings(Settings):
    model_config = settings_config("stack")

    state_dir: Path = PROJECT_ROOT / ".state"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "512m"
    # Extra JVM options of the broker. Serial GC suits a small heap on a 2-core machine; tests add
    # -XX:TieredStopAtLevel=1, which starts the broker about twice as fast at some peak throughput.
    kafka_jvm_opts: str = "-XX:+UseSerialGC"
    # Directory with the Kafka jars fetched by infra/install.sh (mvn dependency:copy-dependencies).
    kafka_libs: Path = PROJECT_ROOT / ".state" / "kafka-libs"
    pg_port: int = 15432
    # PostgreSQL server binaries (Debian's postgresql-15 package).
    pg_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    mqtt_port: int = 11883
    # Edge-node MQTT accounts and the line each may publish under (see shopfloor.stack.mqtt_accounts).
    mqtt_nodes_file: Path = PROJECT_ROOT / "infra" / "mosquitto" / "nodes.yaml"
    start_timeout_s: float = 90.0
