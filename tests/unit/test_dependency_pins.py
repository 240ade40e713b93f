"""A fresh install gets the versions the tests passed with: every dependency is pinned exactly in
infra/constraints.txt, infra/install.sh installs with it and reinstalls when it changes, and the running
environment is what the pins say."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

PYPROJECT = PROJECT_ROOT / "pyproject.toml"
CONSTRAINTS = PROJECT_ROOT / "infra" / "constraints.txt"
INSTALL = PROJECT_ROOT / "infra" / "install.sh"


def requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version and not any(c in version for c in " ;@<>=!~,"), f"not an exact pin: {line!r}"
        found[canonicalize_name(name)] = version
    return found


def test_every_dependency_is_pinned_in_the_constraints() -> None:
    pinned = pins()
    missing = [str(req) for req in requirements() if canonicalize_name(req.name) not in pinned]
    assert not missing, f"not in infra/constraints.txt (run `bash infra/pin.sh`): {missing}"
    for req in requirements():
        # The pin must satisfy what pyproject.toml asks, or the install fails.
        pin = pinned[canonicalize_name(req.name)]
        assert req.specifier.contains(pin, prereleases=True), (str(req), pin)


def test_paho_is_pinned_exactly_in_pyproject_to_the_tested_version() -> None:
    # edge/ reads paho internals (_in_packet, _sock, _packet_queue, ...) that other releases lack.
    (paho,) = [req for req in requirements() if canonicalize_name(req.name) == "paho-mqtt"]
    (spec,) = list(paho.specifier)
    assert spec.operator == "=="
    assert spec.version == pins()["paho-mqtt"]


def test_the_running_environment_is_what_is_pinned() -> None:
    wrong = {}
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if installed != version:
            wrong[name] = (installed, version)
    assert not wrong, f"installed vs pinned (run `bash infra/install.sh`): {wrong}"


def stamp(root: Path) -> str:
    out = subprocess.run(
        ["bash", "-c", "source infra/install.sh && venv_stamp"], cwd=root, check=True, capture_output=True, text=True
    )
    return out.stdout


def test_install_uses_the_constraints_and_its_stamp_follows_them(tmp_path: Path) -> None:
    script = INSTALL.read_text(encoding="utf-8")
    assert '-c "$CONSTRAINTS"' in script and 'CONSTRAINTS="$ROOT/infra/constraints.txt"' in script
    # Sourcing must not install anything (a copy of the repository's files, nothing else).
    assert 'if [ "${BASH_SOURCE[0]}" = "$0" ]; then' in script
    (tmp_path / "infra").mkdir()
    shutil.copy(INSTALL, tmp_path / "infra" / "install.sh")
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    shutil.copy(CONSTRAINTS, tmp_path / "infra" / "constraints.txt")
    before = stamp(tmp_path)
    assert hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest() in before
    assert hashlib.sha256(PYPROJECT.read_bytes()).hexdigest() in before
    with (tmp_path / "infra" / "constraints.txt").open("a") as f:
        f.write("example-package==1.0\n")
    assert stamp(tmp_path) != before
    assert not (tmp_path / ".venv").exists()
