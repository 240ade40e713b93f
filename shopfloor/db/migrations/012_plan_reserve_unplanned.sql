-- What a plan says beyond its operations (owned by the rescheduler, written in the plan's transaction).
-- The rush reserve of each bottleneck workcenter per plant day: what normal work may not use that day
-- (nothing inside the release fence) and how much of it is still free after the plan.
CREATE TABLE IF NOT EXISTS plan_reserve_day (
    plan_id       text NOT NULL REFERENCES schedule_plan (plan_id) ON DELETE CASCADE,
    workcenter_id text NOT NULL,
    day_start     timestamptz NOT NULL,
    reserve_min   integer NOT NULL CHECK (reserve_min >= 0),
    left_min      integer NOT NULL CHECK (left_min >= 0),
    PRIMARY KEY (plan_id, workcenter_id, day_start)
);

-- Work orders a plan could not include at all (e.g. an operation longer than every working window that
-- may not pause), with the reason: the rest of the plant was planned without them.
CREATE TABLE IF NOT EXISTS plan_unplanned (
    plan_id       text NOT NULL REFERENCES schedule_plan (plan_id) ON DELETE CASCADE,
    work_order_id text NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (plan_id, work_order_id)
);
