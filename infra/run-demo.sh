#!/usr/bin/env bash
# The demo: install, start the local stack (Kafka, PostgreSQL, Mosquitto), migrate the database, create
# the Kafka topics and the demo's API tokens, then run the whole platform on the simulated demo plant:
#   bridge (MQTT -> Kafka), stream processors (raw sink and machine state, utilization/OEE, orders/load/
#   bottlenecks when built), rescheduler, order hub, dashboards, and the simulator, which publishes the
#   plant over MQTT and sends its orders through the order hub.
# Ctrl-C stops the plant; the stack keeps running (stop it with `.venv/bin/shopfloor stack down`).
# SHOPFLOOR_DEMO_SPEED (default 60: a simulated minute per second), SHOPFLOOR_DEMO_DURATION (1d),
# ports SHOPFLOOR_DEMO_BOARD_PORT (8080), SHOPFLOOR_DEMO_HTTP_PORT (rescheduler, 8090),
# SHOPFLOOR_ORDERS_HTTP_PORT (order hub, 8091).
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
has_command() { "$SHOPFLOOR" "$@" --help >/dev/null 2>&1; }

"$SHOPFLOOR" stack up
"$SHOPFLOOR" db migrate
"$SHOPFLOOR" topics create
"$SHOPFLOOR" stack status

PLANT="$ROOT/infra/plants/demo.yaml"
LOGS="${SHOPFLOOR_STACK_STATE_DIR:-$ROOT/.state}/demo"
HTTP_PORT="${SHOPFLOOR_DEMO_HTTP_PORT:-8090}"
BOARD_PORT="${SHOPFLOOR_DEMO_BOARD_PORT:-8080}"
HUB_PORT="${SHOPFLOOR_ORDERS_HTTP_PORT:-8091}"
SPEED="${SHOPFLOOR_DEMO_SPEED:-60}"
mkdir -p "$LOGS"

# The demo's tokens (shown once, kept in the logs directory for the person running the demo).
token() { "$SHOPFLOOR" auth token create --name "$1" "${@:2}"; }
VIEWER_TOKEN="$(token demo-tv --role viewer)"
MANAGER_TOKEN="$(token demo-manager --role manager --role planner)"
HUB_TO_RESCHEDULER="$(token demo-hub --role planner)"
SIM_TOKEN="$(token demo-sim --role sales --role planner --role finance --role engineering)"
umask 077
printf 'viewer (TV)=%s\nmanager/planner=%s\n' "$VIEWER_TOKEN" "$MANAGER_TOKEN" >"$LOGS/tokens.txt"
umask 022

# The simulator runs the plant's clock SPEED times faster than the wall clock, so its event times run
# ahead of "now": the boundary check on event times (SHOPFLOOR_EVENTS_MAX_FUTURE_SKEW_S) must allow
# the whole simulated span. A real plant keeps the default (5 minutes).
export SHOPFLOOR_EVENTS_MAX_FUTURE_SKEW_S="${SHOPFLOOR_EVENTS_MAX_FUTURE_SKEW_S:-172800}"
export SHOPFLOOR_EVENTS_PLANT_FILE="$PLANT"
export SHOPFLOOR_STREAMS_PLANT_FILE="$PLANT"
export SHOPFLOOR_ORDERS_RESCHEDULER_URL="http://127.0.0.1:$HTTP_PORT"
export SHOPFLOOR_ORDERS_RESCHEDULER_TOKEN="$HUB_TO_RESCHEDULER"
export SHOPFLOOR_ORDERS_HTTP_PORT="$HUB_PORT"
MARKETPLACE_SECRET="${SHOPFLOOR_SIM_MARKETPLACE_SECRET:-demo-marketplace-secret}"
export SHOPFLOOR_ORDERS_CHANNEL_SECRETS="${SHOPFLOOR_ORDERS_CHANNEL_SECRETS:-{\"marketplace\": \"$MARKETPLACE_SECRET\", \"distributor\": \"demo-distributor-secret\"\}}"

pids=()
stop_plant() {
    [ "${#pids[@]}" -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    echo "demo plant stopped; logs in $LOGS; the stack keeps running (.venv/bin/shopfloor stack down)"
}
trap stop_plant EXIT
trap 'exit 130' INT TERM

start() {  # start NAME COMMAND...: run in the background, log to $LOGS/NAME.log
    local name="$1"
    shift
    "$@" >"$LOGS/$name.log" 2>&1 &
    pids+=($!)
}
wait_http() {  # wait_http URL WHAT: until the server answers (any status)
    for _ in $(seq 1 120); do
        curl -s -o /dev/null "$1" && return 0
        sleep 1
    done
    echo "$2 did not come up; see $LOGS" >&2
    exit 1
}

start bridge "$SHOPFLOOR" bridge run --bridge-id demo
start streams-raw "$SHOPFLOOR" streams raw run
start streams-utilization "$SHOPFLOOR" streams utilization run
has_command streams rollups sync && "$SHOPFLOOR" streams rollups sync --plant "$PLANT" >"$LOGS/rollups.log" 2>&1
has_command streams orders run && start streams-orders "$SHOPFLOOR" streams orders run
start rescheduler "$SHOPFLOOR" schedule serve --plant "$PLANT" --http-port "$HTTP_PORT"
start order-hub "$SHOPFLOOR" orders serve
start dashboards "$SHOPFLOOR" dashboards serve --port "$BOARD_PORT"
wait_http "http://127.0.0.1:$HTTP_PORT/health" "the rescheduler"
wait_http "http://127.0.0.1:$HUB_PORT/openapi.json" "the order hub"
wait_http "http://127.0.0.1:$BOARD_PORT/openapi.json" "the dashboards"

# The plant: its order backlog and later orders (rush ones through the marketplace's signed webhook) go
# through the order hub; machines and scans over MQTT, each event kept until the bridge confirms it.
SHOPFLOOR_SIM_HUB_TOKEN="$SIM_TOKEN" SHOPFLOOR_SIM_MARKETPLACE_SECRET="$MARKETPLACE_SECRET" \
    start sim "$SHOPFLOOR" sim --plant "$PLANT" --order-hub "http://127.0.0.1:$HUB_PORT" --confirmed-delivery \
    --speed "$SPEED" --duration "${SHOPFLOOR_DEMO_DURATION:-1d}" \
    --faults dup=0.01,late=0.01,malformed=0.002 --break H2@30m:3h
SIM_PID="${pids[-1]}"

cat <<TXT

demo plant running: simulator -> MQTT -> bridge -> Kafka -> stream processors -> PostgreSQL -> dashboards;
orders -> order hub -> Kafka -> rescheduler -> plans and alerts
  load board (TV):     http://127.0.0.1:$BOARD_PORT/board?token=$VIEWER_TOKEN
  Gantt, machines, orders (manager): http://127.0.0.1:$BOARD_PORT/gantt?token=$MANAGER_TOKEN
  order hub API:       http://127.0.0.1:$HUB_PORT/docs
  rescheduler API:     http://127.0.0.1:$HTTP_PORT/docs (plan: /plan/current?token=$MANAGER_TOKEN)
  tokens:              $LOGS/tokens.txt
  logs:                $LOGS
  heading press H2 breaks down 30 simulated minutes in, for 3 hours.
Ctrl-C stops the plant.
TXT
wait "$SIM_PID" || true
tail -n 20 "$LOGS/sim.log"
