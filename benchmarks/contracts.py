"""Cost of the strict contract at the boundary: parses per second (not a test).

    .venv/bin/python benchmarks/contracts.py [--messages 20000] [--rounds 7]

Parses the same machine.process messages (two values, an ISO time) three ways, in the same run:
the baseline (the same event models validated in pydantic's lax JSON mode), ``parse_event`` (strict
JSON), and ``EventValidator.parse`` as the bridge runs it (plus the future-skew check and the units per
quantity from the demo plant). CPU time of this process,
best of the rounds, so other load on the machine counts less. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shopfloor.events import EVENT_ADAPTER, parse_event
from shopfloor.events.boundary import EventValidator, QuantityUnits
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT


def messages(count: int) -> list[bytes]:
    now = datetime.now(UTC).isoformat()
    values = [
        {"name": "forming_force", "value": 181.5, "unit": "kN"},
        {"name": "oil_temp", "value": 41.0, "unit": "degC"},
    ]
    return [
        json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "source": "gw-heading-1",
                "seq": seq,
                "ts": now,
                "type": "machine.process",
                "payload": {"machine_id": "H2", "values": values},
            }
        ).encode()
        for seq in range(count)
    ]


def rate(parse: Callable[[bytes], object], batch: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for raw in batch:
            parse(raw)
        best = min(best, time.process_time() - t0)
    return len(batch) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    batch = messages(args.messages)
    units = QuantityUnits.from_machines(load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml").all_machines())
    validator = EventValidator(max_future_skew=timedelta(minutes=5), units=units)
    report = {
        "baseline_lax_per_s": rate(EVENT_ADAPTER.validate_json, batch, args.rounds),
        "parse_event_per_s": rate(parse_event, batch, args.rounds),
        "validator_per_s": rate(validator.parse, batch, args.rounds),
    }
    for name in ("parse_event_per_s", "validator_per_s"):
        report[name.replace("_per_s", "_vs_baseline")] = report[name] / report["baseline_lax_per_s"]
    for name, value in report.items():
        print(f"{name:<26} {value:>12,.2f}")
    print(json.dumps({k: round(v, 3) for k, v in report.items()}))


if __name__ == "__main__":
    main()
