#!/usr/bin/env bash
# One idempotent install for a fresh Debian 12 machine: system packages, the Kafka jars and the
# project's virtualenv. Run as root or as a user with sudo; a second run does (almost) nothing.
#
# Each step is a function called from main() at the bottom; later needs (e.g. a browser for the
# dashboard tests) get a function of their own there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command quietly; on failure show what it printed and stop.
quietly() {
    local what="$1" out
    shift
    out="$(mktemp)"
    if ! "$@" >"$out" 2>&1; then
        printf '[install] ERROR: %s failed: %s\n' "$what" "$*" >&2
        tail -n 40 "$out" >&2
        rm -f "$out"
        exit 1
    fi
    rm -f "$out"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@" || die "needs root for: $* (run as root, or with passwordless sudo)"
    else
        die "needs root for: $* (run as root or install sudo)"
    fi
}

# The exact versions the tests passed with; `bash infra/pin.sh` regenerates it.
CONSTRAINTS="$ROOT/infra/constraints.txt"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Debian packages: the servers of the local stack, the JDK and Maven for Kafka, Python's venv.
DEBIAN_PACKAGES=(postgresql-15 mosquitto mosquitto-clients maven openjdk-17-jdk-headless python3-venv)

install_debian_packages() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script targets Debian 12"
    local missing=() pkg
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        # Another JDK 17+ already on PATH serves Kafka as well as Debian's.
        if [ "$pkg" = openjdk-17-jdk-headless ] && java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
            continue
        fi
        installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly "apt-get update" as_root apt-get update -qq
    quietly "apt-get install" as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The dashboards' browser tests drive Debian's Chromium through Playwright (whose wheel ships only its
# driver: no browser is ever downloaded) and screenshots need a CJK font to render the Chinese pages.
BROWSER_PACKAGES=(chromium fonts-noto-cjk)

install_browser_packages() {
    local missing=() pkg
    for pkg in "${BROWSER_PACKAGES[@]}"; do
        installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly "apt-get update" as_root apt-get update -qq
    quietly "apt-get install" as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The Kafka broker's jars from Maven Central, into StackSettings.kafka_libs. A stamp with the pom's
# checksum marks a complete copy, so an interrupted download is redone and a finished one skipped.
install_kafka_jars() {
    local libs="${SHOPFLOOR_STACK_KAFKA_LIBS:-$ROOT/.state/kafka-libs}"
    local pom="$ROOT/infra/kafka/pom.xml" stamp want tmp
    stamp="$libs/.complete"
    want="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    log "fetching Kafka jars into $libs"
    mkdir -p "$(dirname "$libs")"
    tmp="$(mktemp -d "$(dirname "$libs")/.kafka-libs.XXXXXX")"
    quietly "mvn dependency:copy-dependencies" \
        mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp"
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven finished but no kafka_2.13 jar in $tmp"
    echo "$want" >"$tmp/.complete"
    chmod 755 "$tmp"
    rm -rf "$libs"
    mv "$tmp" "$libs"
}

# What the virtualenv was installed from: a change to either file reinstalls.
venv_stamp() {
    printf 'pyproject.toml %s\n' "$(sha256sum <"$ROOT/pyproject.toml" | cut -d' ' -f1)"
    printf 'infra/constraints.txt %s\n' "$(sha256sum <"$CONSTRAINTS" | cut -d' ' -f1)"
}

# The project's virtualenv with the package (editable) and its dev tools, at the exact versions of
# infra/constraints.txt (regenerate with `bash infra/pin.sh`). Skipped when neither pyproject.toml nor
# the constraints changed since the last successful install.
install_venv() {
    local venv="$ROOT/.venv" stamp want
    python3 -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' \
        || die "python3 must be 3.11 or 3.12 (found $(python3 --version 2>&1))"
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv"
        quietly "python3 -m venv" python3 -m venv "$venv"
    fi
    stamp="$venv/.shopfloor-installed"
    want="$(venv_stamp)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/shopfloor" ]; then
        return
    fi
    log "pip install -c infra/constraints.txt -e '.[dev]'"
    quietly "pip install" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        -c "$CONSTRAINTS" -e "$ROOT[dev]"
    echo "$want" >"$stamp"
}

main() {
    install_debian_packages
    install_browser_packages
    install_kafka_jars
    install_venv
    log "ready"
}

# Sourced (the unit tests call venv_stamp), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
