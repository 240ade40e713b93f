#!/usr/bin/env bash
# Install, then lint, type-check and test. pytest starts a private stack (Kafka, PostgreSQL, Mosquitto)
# on free ports under a directory of this run's own; whatever is left running there is stopped on exit,
# even when the tests fail or are interrupted. Exits non-zero when any step fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/install.sh

VENV="$ROOT/.venv/bin"
# Every private server of this run lives under this directory, so it can be found and stopped.
SHOPFLOOR_TEST_STATE_ROOT="$(mktemp -d /tmp/shopfloor-test.XXXXXX)"
chmod 755 "$SHOPFLOOR_TEST_STATE_ROOT"
export SHOPFLOOR_TEST_STATE_ROOT
# The tests always get their own stack here, never a developer's running one.
unset SHOPFLOOR_TEST_STACK

cleanup() {
    "$VENV/python" -c 'import sys; from shopfloor.stack.process import reap; reap(sys.argv[1], timeout=20)' \
        "$SHOPFLOOR_TEST_STATE_ROOT" || true
    rm -rf "$SHOPFLOOR_TEST_STATE_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=()
step() {
    local name="$1"
    shift
    printf '\n=== %s\n' "$name"
    local rc=0
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '=== %s FAILED (exit %s)\n' "$name" "$rc"
        failed+=("$name")
    fi
}

step "ruff check" "$VENV/ruff" check .
step "ruff format --check" "$VENV/ruff" format --check .
step "mypy" "$VENV/mypy"
# pytest's exit code 5 ("no tests collected") is a failure here like any other non-zero code.
step "pytest" "$VENV/pytest" -q -p no:cacheprovider --durations=15 "$@"

if [ "${#failed[@]}" -ne 0 ]; then
    printf '\nFAILED: %s\n' "${failed[*]}"
    exit 1
fi
printf '\nall checks passed\n'
