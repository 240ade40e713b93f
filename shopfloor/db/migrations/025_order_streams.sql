-- The faust order processor's tables (streams/orders, streams/bottleneck). Every writer is a
-- replacing upsert on the natural key, so a redelivered Kafka batch rewrites the same values.

-- Progress of each operation as derived from its wo.* events (streams/orders/progress.py). It is
-- merged into `operation` whenever either side changes, so a scan that arrives before its work
-- order's release is not lost: the release's write applies the progress already recorded.
CREATE TABLE operation_progress (
    work_order_id text             NOT NULL,
    seq           integer          NOT NULL CHECK (seq BETWEEN 1 AND 99),
    status        text             NOT NULL CHECK (status IN ('pending', 'started', 'paused', 'done')),
    machine_id    text,
    actual_start  timestamptz,
    actual_finish timestamptz,
    good          bigint           NOT NULL DEFAULT 0 CHECK (good >= 0),
    scrap         bigint           NOT NULL DEFAULT 0 CHECK (scrap >= 0),
    -- Seconds between start/resume and pause/finish, and seconds paused.
    active_s      double precision NOT NULL DEFAULT 0 CHECK (active_s >= 0),
    paused_s      double precision NOT NULL DEFAULT 0 CHECK (paused_s >= 0),
    events        integer          NOT NULL DEFAULT 0,
    updated_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (work_order_id, seq)
);

-- Open work per workshop: work orders whose next open operation is in one of its workcenters.
CREATE TABLE workshop_pending (
    workshop_id         text             PRIMARY KEY,
    pending_work_orders integer          NOT NULL DEFAULT 0,
    queued_operations   integer          NOT NULL DEFAULT 0,
    queued_hours        double precision NOT NULL DEFAULT 0,
    updated_at          timestamptz      NOT NULL DEFAULT now()
);

-- Queued hours against calendar capacity over several horizons from now (next shift, 1 day, 3 days,
-- a week). `full_for_hours`: how long the queue keeps the workcenter's working machines busy.
CREATE TABLE workcenter_horizon_load (
    workcenter_id      text             NOT NULL,
    horizon            text             NOT NULL,
    horizon_end        timestamptz      NOT NULL,
    queued_hours       double precision NOT NULL CHECK (queued_hours >= 0),
    capacity_hours     double precision NOT NULL CHECK (capacity_hours >= 0),
    load_ratio         double precision,
    full_for_hours     double precision NOT NULL DEFAULT 0,
    machines_down      text[]           NOT NULL DEFAULT '{}',
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (workcenter_id, horizon)
);

-- The order pool by channel each minute (order_pool_1m keeps status x priority).
SELECT shopfloor_create_time_table('order_pool_channel_1m', $cols$
    bucket      timestamptz NOT NULL,
    channel     text        NOT NULL,
    status      text        NOT NULL,
    orders      integer     NOT NULL DEFAULT 0,
    rush_orders integer     NOT NULL DEFAULT 0,
    quantity    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, channel, status)
$cols$, 'bucket', false);

-- On-time delivery per plant-local week and month: an order is delivered when all its work orders are
-- done, on time when the last one finished by the order's due date.
CREATE TABLE on_time_delivery (
    period       text        NOT NULL CHECK (period IN ('week', 'month')),
    period_start date        NOT NULL,
    delivered    integer     NOT NULL,
    on_time      integer     NOT NULL,
    on_time_pct  double precision,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, period_start)
);
