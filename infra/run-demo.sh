#!/usr/bin/env bash
# The demo: install, start the local stack (Kafka, PostgreSQL, Mosquitto), migrate the database,
# create the Kafka topics, then run the simulated demo plant: the simulator publishes over MQTT, the
# bridge moves it into Kafka, the rescheduler plans the order backlog and replans on breakdowns.
# Ctrl-C stops the plant; the stack keeps running (stop it with `.venv/bin/shopfloor stack down`).
# SHOPFLOOR_DEMO_SPEED (default 60: a simulated minute per second) and SHOPFLOOR_DEMO_DURATION (1d).
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

PLANT="$ROOT/infra/plants/demo.yaml"
LOGS="${SHOPFLOOR_STACK_STATE_DIR:-$ROOT/.state}/demo"
HTTP_PORT="${SHOPFLOOR_DEMO_HTTP_PORT:-8090}"
mkdir -p "$LOGS"
pids=()
stop_plant() {
    [ "${#pids[@]}" -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    echo "demo plant stopped; logs in $LOGS; the stack keeps running (.venv/bin/shopfloor stack down)"
}
trap stop_plant EXIT
trap 'exit 130' INT TERM

"$SHOPFLOOR" bridge run --bridge-id demo >"$LOGS/bridge.log" 2>&1 &
pids+=($!)
# The simulator writes its order backlog first (as the order hub would), then the rescheduler plans it.
"$SHOPFLOOR" sim --plant "$PLANT" --seed-orders --speed "${SHOPFLOOR_DEMO_SPEED:-60}" \
    --duration "${SHOPFLOOR_DEMO_DURATION:-1d}" --faults dup=0.01,late=0.01,malformed=0.002 \
    --break H2@30m:3h >"$LOGS/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
    grep -q "seeded" "$LOGS/sim.log" 2>/dev/null && break
    sleep 1
done
"$SHOPFLOOR" schedule serve --plant "$PLANT" --http-port "$HTTP_PORT" >"$LOGS/rescheduler.log" 2>&1 &
pids+=($!)
cat <<TXT

demo plant running: simulator -> MQTT -> bridge -> Kafka -> rescheduler
  current plan:        http://127.0.0.1:$HTTP_PORT/plan/current
  capable-to-promise:  POST http://127.0.0.1:$HTTP_PORT/ctp
  logs:                $LOGS
  heading press H2 breaks down 30 simulated minutes in, for 3 hours.
Ctrl-C stops the plant.
TXT
wait "${pids[1]}" || true
cat "$LOGS/sim.log"
