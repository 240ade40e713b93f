"""Configuration the local stack generates for its servers, and the process helpers (no servers)."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from shopfloor.settings import PROJECT_ROOT, StackSettings
from shopfloor.stack.kafka import new_cluster_id, server_properties
from shopfloor.stack.mosquitto import mosquitto_conf
from shopfloor.stack.mqtt_accounts import EdgeNodeAccount, load_nodes, mqtt_acl, mqtt_users
from shopfloor.stack.postgres import postgres_conf
from shopfloor.stack.process import (
    StackError,
    check_traversable,
    free_ports,
    pid_alive,
    read_pid,
    reap,
    spawn_detached,
    tail,
    terminate,
)

pytestmark = pytest.mark.unit


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def conf_directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            found.setdefault(key, []).append(value)
    return found


def node(username: str, area: str, line: str = "l1") -> EdgeNodeAccount:
    return EdgeNodeAccount.model_validate(
        {
            "username": username,
            "password": "pw-" + username,
            "enterprise": "acme",
            "site": "p1",
            "area": area,
            "line": line,
        }
    )


def test_kafka_properties_make_a_single_node_kraft_cluster_on_the_given_ports(tmp_path: Path) -> None:
    props = parse_properties(server_properties(29092, 29093, tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_kafka_cluster_ids_are_16_random_bytes_in_url_safe_base64() -> None:
    first, second = new_cluster_id(), new_cluster_id()
    assert first != second
    assert len(first) == 22 and "=" not in first
    assert len(base64.urlsafe_b64decode(first + "==")) == 16
    # A leading "-" would be read as an option by kafka-storage (1 id in 64 would start with one).
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


def test_mosquitto_with_users_refuses_anonymous_and_names_its_files(tmp_path: Path) -> None:
    conf = conf_directives(mosquitto_conf(21883, tmp_path, auth=True, acl=True))
    assert conf["listener"] == ["21883 127.0.0.1"]
    assert conf["allow_anonymous"] == ["false"]
    assert conf["password_file"] == [str(tmp_path / "passwd")]
    assert conf["acl_file"] == [str(tmp_path / "acl")]
    assert conf["persistence_location"] == [f"{tmp_path / 'data'}/"]
    assert int(conf["max_queued_messages"][0]) >= 100_000
    assert conf["max_inflight_messages"] == ["100"]
    assert 0 < int(conf["max_packet_size"][0]) <= 16 * 1024 * 1024


def test_mosquitto_without_users_is_anonymous_and_has_no_password_file(tmp_path: Path) -> None:
    conf = conf_directives(mosquitto_conf(21883, tmp_path, auth=False, acl=False))
    assert conf["allow_anonymous"] == ["true"]
    assert "password_file" not in conf and "acl_file" not in conf


def test_acl_gives_the_service_account_everything_and_each_node_its_own_line() -> None:
    acl = mqtt_acl("svc", [node("edge-a", "cutting"), node("edge-b", "heading", "l2")])
    blocks = [block.splitlines() for block in acl.split("\n\n")[1:]]
    assert blocks == [
        ["user svc", "topic readwrite shopfloor/v1/#", "topic readwrite shopfloor/confirm/v1/#"],
        [
            "user edge-a",
            "topic readwrite shopfloor/v1/acme/p1/cutting/l1/#",
            "topic read shopfloor/confirm/v1/acme/p1/cutting/l1/#",
        ],
        [
            "user edge-b",
            "topic readwrite shopfloor/v1/acme/p1/heading/l2/#",
            "topic read shopfloor/confirm/v1/acme/p1/heading/l2/#",
        ],
    ]


def test_users_include_service_and_nodes_and_reject_duplicates() -> None:
    nodes = [node("edge-a", "cutting")]
    assert mqtt_users("svc", "secret", nodes) == {"svc": "secret", "edge-a": "pw-edge-a"}
    with pytest.raises(ValueError, match="edge-a"):
        mqtt_users("edge-a", "secret", nodes)


@pytest.mark.parametrize("bad_line", ["l1/#", "+", "l 1", ""])
def test_node_levels_with_wildcards_separators_or_spaces_are_rejected(bad_line: str) -> None:
    with pytest.raises(ValidationError):
        node("edge-a", "cutting", bad_line)


def test_nodes_load_from_yaml_and_a_missing_file_means_none(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text("nodes:\n  - {username: n1, password: p, enterprise: e, site: s, area: a, line: l}\n")
    (loaded,) = load_nodes(path)
    assert loaded.prefix == "shopfloor/v1/e/s/a/l"
    assert loaded.password.get_secret_value() == "p"
    assert load_nodes(tmp_path / "absent.yaml") == []


def test_the_shipped_node_list_is_valid_and_matches_the_default_setting() -> None:
    assert StackSettings().mqtt_nodes_file == PROJECT_ROOT / "infra" / "mosquitto" / "nodes.yaml"
    nodes = load_nodes(PROJECT_ROOT / "infra" / "mosquitto" / "nodes.yaml")
    assert nodes and len({n.username for n in nodes}) == len(nodes)


def test_postgres_conf_preloads_timescaledb_only_when_asked(tmp_path: Path) -> None:
    plain = postgres_conf(25432, tmp_path, timescaledb=False)
    assert "port = 25432" in plain.splitlines()
    assert f"unix_socket_directories = '{tmp_path}'" in plain.splitlines()
    assert "listen_addresses = '127.0.0.1'" in plain.splitlines()
    assert "shared_preload_libraries" not in plain
    assert "shared_preload_libraries = 'timescaledb'" in postgres_conf(1, tmp_path, timescaledb=True).splitlines()


def test_pid_alive_checks_the_command_line_marker_and_read_pid_reads_the_first_line(tmp_path: Path) -> None:
    own = os.getpid()
    assert pid_alive(own)
    assert pid_alive(own, "python") or pid_alive(own, "pytest")
    assert not pid_alive(own, "no-such-marker-in-any-cmdline")
    pid_file = tmp_path / "postmaster.pid"
    pid_file.write_text(f"{own}\n/some/data/dir\n")
    assert read_pid(pid_file) == own
    assert read_pid(tmp_path / "absent.pid") is None


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert "no log" in tail(tmp_path / "absent.log")


def test_a_mode_700_parent_is_reported_and_a_755_one_passes(tmp_path: Path) -> None:
    private = tmp_path / "private"
    (private / "state").mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(StackError, match="not traversable"):
        check_traversable(private / "state", "nobody")
    # pytest's own tmp_path parents are mode 700, so the passing case uses a fresh 755 directory.
    open_dir = Path(tempfile.mkdtemp(prefix="shopfloor-unit-"))
    try:
        open_dir.chmod(0o755)
        (open_dir / "state").mkdir()
        check_traversable(open_dir / "state", "nobody")
    finally:
        shutil.rmtree(open_dir)


def test_reap_stops_only_processes_naming_the_marker(tmp_path: Path) -> None:
    marker = f"/shopfloor-reap-{uuid.uuid4().hex}"
    log = tmp_path / "sleep.log"
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    ours = spawn_detached([*sleeper, marker], log)
    other = spawn_detached(sleeper, log)
    try:
        assert pid_alive(ours, marker)
        assert reap(marker, timeout=10) == [ours]
        assert not pid_alive(ours) and pid_alive(other)
    finally:
        reap(marker, timeout=1)
        terminate(other, marker="time.sleep(600)", timeout=1)
