#!/usr/bin/env bash
# The demo: install, start the local stack (Kafka, PostgreSQL, Mosquitto), migrate the database,
# create the Kafka topics, show the stack. The stack keeps running; stop it with
# `.venv/bin/shopfloor stack down`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/install.sh

# Clients follow the stack's ports when only SHOPFLOOR_STACK_* were given (e.g. a second stack).
[ -n "${SHOPFLOOR_STACK_KAFKA_PORT:-}" ] &&
    export SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS="${SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$SHOPFLOOR_STACK_KAFKA_PORT}"
[ -n "${SHOPFLOOR_STACK_PG_PORT:-}" ] && export SHOPFLOOR_PG_PORT="${SHOPFLOOR_PG_PORT:-$SHOPFLOOR_STACK_PG_PORT}"
[ -n "${SHOPFLOOR_STACK_MQTT_PORT:-}" ] && export SHOPFLOOR_MQTT_PORT="${SHOPFLOOR_MQTT_PORT:-$SHOPFLOOR_STACK_MQTT_PORT}"

SHOPFLOOR="$ROOT/.venv/bin/shopfloor"
# A command that is not built yet is skipped, so the demo runs at every stage of the project.
has_command() { "$SHOPFLOOR" "$1" --help >/dev/null 2>&1; }

"$SHOPFLOOR" stack up
if has_command db; then
    "$SHOPFLOOR" db migrate
fi
if has_command topics; then
    "$SHOPFLOOR" topics create
fi
"$SHOPFLOOR" stack status
echo "stop the stack with: .venv/bin/shopfloor stack down"
