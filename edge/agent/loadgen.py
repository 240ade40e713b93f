"""Publish N counter events through an EdgeAgent: a load generator and the subject of kill -9 tests.

    python -m edge.agent.loadgen --node-id gen1 --queue /tmp/gen1.db --count 20000 --machine M1

MQTT settings come from ``SHOPFLOOR_MQTT_*``. Every committed event is printed as ``ID <event_id> <seq>``
after its batch is in the outbox (so a parent process knows exactly what must arrive); ``DONE <sent>``
once the outbox is empty.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.agent.agent import EdgeAgent
from shopfloor.events import MachineCounterEvent, MachineCounterPayload, NodeKind
from shopfloor.settings import MqttSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--queue", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--machine", default="M1")
    parser.add_argument("--area", default="area1")
    parser.add_argument("--line", default="line1")
    parser.add_argument("--flush-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    agent = EdgeAgent(args.node_id, NodeKind.SIMULATOR, args.area, args.line, MqttSettings(), args.queue)
    agent.start()
    try:
        done = 0
        while done < args.count:
            size = min(args.batch, args.count - done)
            events = [
                agent.new_event(MachineCounterEvent, MachineCounterPayload(machine_id=args.machine, good=i, scrap=0))
                for i in range(done, done + size)
            ]
            agent.publish_many([(event, args.machine) for event in events])
            sys.stdout.write("".join(f"ID {event.event_id} {event.seq}\n" for event in events))
            sys.stdout.flush()
            done += size
        drained = agent.flush(args.flush_timeout)
        sys.stdout.write(f"DONE {agent.sent} {'drained' if drained else 'not-drained'}\n")
        sys.stdout.flush()
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
