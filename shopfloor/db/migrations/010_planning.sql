-- Planning loop: schedule plans and their operations, current bottlenecks, alerts and their deliveries.
-- Owned by the rescheduler. Every writer is idempotent: natural keys with ON CONFLICT.

-- One row per plan version of a site; exactly one current plan per site.
CREATE TABLE IF NOT EXISTS schedule_plan (
    plan_id            text PRIMARY KEY,
    site_id            text NOT NULL,
    version            integer NOT NULL CHECK (version >= 1),
    created_at         timestamptz NOT NULL DEFAULT now(),
    trigger            text NOT NULL DEFAULT '',
    status             text NOT NULL,
    weighted_tardiness double precision NOT NULL DEFAULT 0,
    makespan_end       timestamptz,
    solve_s            double precision NOT NULL DEFAULT 0,
    is_current         boolean NOT NULL DEFAULT false,
    UNIQUE (site_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS schedule_plan_current_idx ON schedule_plan (site_id) WHERE is_current;

-- The operations of a plan. `late`: the operation ends after its work order's due date.
CREATE TABLE IF NOT EXISTS scheduled_operation (
    plan_id       text NOT NULL REFERENCES schedule_plan (plan_id) ON DELETE CASCADE,
    work_order_id text NOT NULL,
    seq           integer NOT NULL,
    machine_id    text NOT NULL,
    start_ts      timestamptz NOT NULL,
    end_ts        timestamptz NOT NULL CHECK (end_ts >= start_ts),
    frozen        boolean NOT NULL DEFAULT false,
    late          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (plan_id, work_order_id, seq)
);
CREATE INDEX IF NOT EXISTS scheduled_operation_machine_idx ON scheduled_operation (plan_id, machine_id, start_ts);

-- Each order as a plan projects it: what the alerts and the load board read.
CREATE TABLE IF NOT EXISTS planned_order (
    plan_id     text NOT NULL REFERENCES schedule_plan (plan_id) ON DELETE CASCADE,
    order_id    text NOT NULL,
    customer_id text,
    due         timestamptz NOT NULL,
    projected   timestamptz NOT NULL,
    late        boolean NOT NULL,
    cause       text NOT NULL DEFAULT '',
    PRIMARY KEY (plan_id, order_id)
);

-- Current bottlenecks from bottleneck.detected / bottleneck.cleared events (last event wins).
CREATE TABLE IF NOT EXISTS bottleneck (
    workcenter_id  text PRIMARY KEY,
    machine_id     text,
    active         boolean NOT NULL,
    load_hours     double precision NOT NULL DEFAULT 0,
    capacity_hours double precision NOT NULL DEFAULT 0,
    full_for_hours double precision NOT NULL DEFAULT 0,
    cause          text NOT NULL DEFAULT '',
    event_id       uuid NOT NULL,
    event_ts       timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Current state of each machine from machine.state events (last event time wins).
CREATE TABLE IF NOT EXISTS machine_current_state (
    machine_id text PRIMARY KEY,
    state      text NOT NULL,
    since      timestamptz NOT NULL,
    event_id   uuid NOT NULL
);

-- Alerts: one row per episode (late, then back on time, is one episode); the fingerprint says which change
-- it announces, and at most one alert per order, kind and audience is open at a time (never told twice).
CREATE TABLE IF NOT EXISTS alert (
    alert_id    text PRIMARY KEY,
    kind        text NOT NULL,
    audience    text NOT NULL,
    order_id    text NOT NULL,
    customer_id text,
    due         timestamptz,
    projected   timestamptz,
    need        timestamptz,
    cause       text NOT NULL DEFAULT '',
    fingerprint text NOT NULL,
    state       text NOT NULL CHECK (state IN ('raised', 'cleared')),
    plan_id     text,
    raised_at   timestamptz NOT NULL DEFAULT now(),
    cleared_at  timestamptz,
    clear_reason text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS alert_open_idx ON alert (kind, audience, order_id) WHERE state = 'raised';
CREATE INDEX IF NOT EXISTS alert_fingerprint_idx ON alert (fingerprint);

-- Deliveries of an alert's raise and clear per channel (kafka, webhook, email); a missing row is pending.
CREATE TABLE IF NOT EXISTS alert_delivery (
    alert_id     text NOT NULL REFERENCES alert (alert_id) ON DELETE CASCADE,
    transition   text NOT NULL CHECK (transition IN ('raised', 'cleared')),
    channel      text NOT NULL,
    delivered_at timestamptz,
    attempt      integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    PRIMARY KEY (alert_id, transition, channel)
);
