-- Streams (issue 15): the current state of every machine, and what the utilization minutes need for
-- roll-ups that are exact (ratios from sums, never averages of ratios).

-- machine_current_state (created by 010 for the rescheduler): one row per machine, upserted by the raw
-- sink within a second of the event. `since` is when the machine entered this state (a repeated report
-- of the same state and reason keeps it); `last_event_ts` orders updates, so an out-of-order (older)
-- event never moves the state backwards (rows written without it order by `since`).
ALTER TABLE machine_current_state
    ADD COLUMN reason_code   text,
    ADD COLUMN last_event_ts timestamptz,
    ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now();

-- Per minute: planned production seconds (shift less planned stops), running seconds inside them,
-- ideal seconds (ideal cycle x total count), and a flag when performance exceeds 1 (the plant model's
-- ideal cycle is too slow: the value is kept, never clamped).
ALTER TABLE machine_utilization_1m
    ADD COLUMN planned_s              double precision NOT NULL DEFAULT 0,
    ADD COLUMN run_planned_s          double precision NOT NULL DEFAULT 0,
    ADD COLUMN ideal_s                double precision NOT NULL DEFAULT 0,
    ADD COLUMN performance_over_ideal boolean          NOT NULL DEFAULT false;
