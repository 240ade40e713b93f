"""The deployment files parse and agree with the code: topics, broker settings, tables, paths."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from shopfloor.settings import PROJECT_ROOT, KafkaSettings
from shopfloor.stack.mosquitto import MAX_INFLIGHT_MESSAGES, MAX_PACKET_SIZE, MAX_QUEUED_MESSAGES
from shopfloor.topics import KafkaTopic

pytestmark = pytest.mark.unit

INFRA = PROJECT_ROOT / "infra"
COMPOSE_DIR = INFRA / "compose"
K8S = INFRA / "k8s"
GRAFANA = INFRA / "grafana"
# coming-later.yaml holds only commented placeholders (see test_kustomization_lists_every_manifest).
YAML_FILES = sorted(
    p
    for p in [
        *COMPOSE_DIR.rglob("*.yml"),
        *K8S.rglob("*.yaml"),
        *GRAFANA.rglob("*.yaml"),
        *(INFRA / "plants").glob("*.yaml"),
    ]
    if p.name != "coming-later.yaml"
)


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def k8s_docs(kind: str) -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in load_all(path) if doc.get("kind") == kind]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_yaml_parses(path: Path) -> None:
    assert load_all(path), f"{path} is empty"


def test_there_are_deployment_files() -> None:
    names = {p.name for p in YAML_FILES}
    assert {"docker-compose.yml", "kafka.yaml", "topics.yaml", "bridge.yaml", "rescheduler.yaml"} <= names


# --- Kubernetes ---------------------------------------------------------------------------------------


def test_every_kafka_topic_is_declared_and_nothing_else() -> None:
    topics = k8s_docs("KafkaTopic")
    assert sorted(t["spec"]["topicName"] for t in topics) == sorted(t.value for t in KafkaTopic)
    for topic in topics:
        assert topic["metadata"]["name"] == topic["spec"]["topicName"]


def test_topics_belong_to_the_cluster_and_keep_the_settings_retention() -> None:
    [cluster] = k8s_docs("Kafka")
    settings = KafkaSettings()
    for topic in k8s_docs("KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == cluster["metadata"]["name"]
        expected = (
            settings.deadletter_retention_ms
            if topic["spec"]["topicName"] == KafkaTopic.DEADLETTER
            else settings.retention_ms
        )
        assert topic["spec"]["config"]["retention.ms"] == expected
        # acks=all survives one broker down only if fewer in-sync replicas than replicas are required.
        assert topic["spec"]["config"]["min.insync.replicas"] < topic["spec"]["replicas"]


def test_kafka_runs_kraft_with_node_pools() -> None:
    [cluster] = k8s_docs("Kafka")
    assert cluster["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert cluster["metadata"]["annotations"]["strimzi.io/node-pools"] == "enabled"
    pools = k8s_docs("KafkaNodePool")
    roles = {role for pool in pools for role in pool["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    assert all(pool["metadata"]["labels"]["strimzi.io/cluster"] == cluster["metadata"]["name"] for pool in pools)
    # The settings ConfigMap points the services at Strimzi's bootstrap service of this cluster.
    [settings] = [c for c in k8s_docs("ConfigMap") if c["metadata"]["name"] == "shopfloor-settings"]
    bootstrap = settings["data"]["SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap.startswith(f"{cluster['metadata']['name']}-kafka-bootstrap:")


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "coming-later.yaml"}
    assert listed == manifests
    # The placeholders are comments only: applying the directory never runs an unbuilt service.
    assert load_all(K8S / "coming-later.yaml") == []


def test_workloads_take_settings_from_the_configmap_and_secret() -> None:
    configmaps = {c["metadata"]["name"] for c in k8s_docs("ConfigMap")}
    secrets = {s["metadata"]["name"] for s in k8s_docs("Secret")}
    workloads = k8s_docs("Deployment") + k8s_docs("StatefulSet") + k8s_docs("Job")
    shopfloor_containers = [
        c for w in workloads for c in w["spec"]["template"]["spec"]["containers"] if c["image"].startswith("shopfloor")
    ]
    assert len(shopfloor_containers) >= 3
    for container in shopfloor_containers:
        refs = container["envFrom"]
        assert {r["configMapRef"]["name"] for r in refs if "configMapRef" in r} <= configmaps
        assert {r["secretRef"]["name"] for r in refs if "secretRef" in r} <= secrets
    for workload in workloads:
        labels = workload["spec"]["template"].get("metadata", {}).get("labels", {})
        selector = workload["spec"].get("selector", {}).get("matchLabels", {})
        assert selector.items() <= labels.items(), workload["metadata"]["name"]


# --- compose ------------------------------------------------------------------------------------------


def test_compose_services_and_dependencies() -> None:
    services = compose()["services"]
    assert {"kafka", "mosquitto", "timescaledb", "bridge", "rescheduler", "migrate", "simulator", "grafana"} <= set(
        services
    )
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:")
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")


def test_compose_paths_exist() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), f"{name}: {source}"
        build = service.get("build")
        if build:
            assert (COMPOSE_DIR / build["context"] / build["dockerfile"]).is_file()


def _mosquitto_conf(text: str) -> dict[str, str]:
    pairs = (line.split(None, 1) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return {key: value for key, value in pairs if key != "log_type"}


def test_mosquitto_configs_keep_the_project_limits() -> None:
    [k8s_conf] = [c for c in k8s_docs("ConfigMap") if c["metadata"]["name"] == "mosquitto-config"]
    for text in (
        (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8"),
        k8s_conf["data"]["mosquitto.conf"],
    ):
        conf = _mosquitto_conf(text)
        assert int(conf["max_queued_messages"]) == MAX_QUEUED_MESSAGES
        assert int(conf["max_inflight_messages"]) == MAX_INFLIGHT_MESSAGES
        assert int(conf["max_packet_size"]) == MAX_PACKET_SIZE
        assert conf["allow_anonymous"] == "false"
        assert conf["set_tcp_nodelay"] == "true"


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE))
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages and packages <= copied
    for source in copied - {"--from=build"}:
        assert (PROJECT_ROOT / source).exists(), source


# --- Grafana ------------------------------------------------------------------------------------------


def _tables_in_migrations() -> set[str]:
    sql = " ".join(
        p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "shopfloor" / "db" / "migrations").glob("*.sql")
    )
    return set(re.findall(r"create_time_table\('(\w+)'", sql)) | set(
        re.findall(r"CREATE (?:TABLE|VIEW|MATERIALIZED VIEW)(?: IF NOT EXISTS)? (\w+)", sql)
    )


def test_dashboards_use_the_provisioned_datasource_and_real_tables() -> None:
    [datasource] = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "shopfloor.yaml").read_text())[
        "datasources"
    ]
    tables = _tables_in_migrations()
    dashboards = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"]
            for target in panel["targets"]:
                for table in re.findall(r"\bFROM (\w+)", target["rawSql"]):
                    assert table in tables, f"{path.name}: panel {panel['title']!r} reads unknown table {table}"


def test_grafana_gets_the_variables_its_datasource_reads() -> None:
    text = (GRAFANA / "provisioning" / "datasources" / "shopfloor.yaml").read_text(encoding="utf-8")
    wanted = set(re.findall(r"\$\{(\w+)\}", text))
    assert wanted
    assert wanted <= set(compose()["services"]["grafana"]["environment"])
