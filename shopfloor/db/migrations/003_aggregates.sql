-- Aggregates written by the stream processors, keyed by their natural key so rewrites are upserts.

-- Seconds per machine state within each minute, counts, and OEE = availability x performance x quality.
-- The ratios are NULL when undefined (e.g. no planned time in the minute).
SELECT shopfloor_create_time_table('machine_utilization_1m', $cols$
    machine_id     text             NOT NULL,
    bucket         timestamptz      NOT NULL,
    running_s      double precision NOT NULL DEFAULT 0,
    idle_s         double precision NOT NULL DEFAULT 0,
    setup_s        double precision NOT NULL DEFAULT 0,
    stopped_s      double precision NOT NULL DEFAULT 0,
    maintenance_s  double precision NOT NULL DEFAULT 0,
    fault_s        double precision NOT NULL DEFAULT 0,
    offline_s      double precision NOT NULL DEFAULT 0,
    good           bigint           NOT NULL DEFAULT 0,
    scrap          bigint           NOT NULL DEFAULT 0,
    availability   double precision,
    performance    double precision,
    quality        double precision,
    oee            double precision,
    updated_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, bucket)
$cols$, 'bucket', false);

-- Queued work against capacity per workcenter, sampled over time (the load board's bars).
SELECT shopfloor_create_time_table('workcenter_load', $cols$
    workcenter_id  text             NOT NULL,
    ts             timestamptz      NOT NULL,
    queued_hours   double precision NOT NULL CHECK (queued_hours >= 0),
    capacity_hours double precision NOT NULL CHECK (capacity_hours >= 0),
    updated_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (workcenter_id, ts)
$cols$, 'ts', false);

-- The order pool each minute: totals by status and priority.
SELECT shopfloor_create_time_table('order_pool_1m', $cols$
    bucket      timestamptz NOT NULL,
    status      text        NOT NULL,
    priority    smallint    NOT NULL,
    orders      integer     NOT NULL DEFAULT 0,
    rush_orders integer     NOT NULL DEFAULT 0,
    work_orders integer     NOT NULL DEFAULT 0,
    quantity    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, status, priority)
$cols$, 'bucket', false);

-- Hourly roll-up of utilization, the same name and columns either way: a continuous aggregate with
-- TimescaleDB (refreshed by a policy; WITH NO DATA because a populating one cannot be created inside
-- the migration's transaction), a plain view otherwise.
DO $$
DECLARE
    select_list constant text := $sql$
        machine_id,
        sum(running_s) AS running_s, sum(idle_s) AS idle_s, sum(setup_s) AS setup_s,
        sum(stopped_s) AS stopped_s, sum(maintenance_s) AS maintenance_s, sum(fault_s) AS fault_s,
        sum(offline_s) AS offline_s, sum(good) AS good, sum(scrap) AS scrap,
        avg(availability) AS availability, avg(performance) AS performance,
        avg(quality) AS quality, avg(oee) AS oee
    $sql$;
BEGIN
    IF shopfloor_has_timescaledb() THEN
        EXECUTE format(
            'CREATE MATERIALIZED VIEW machine_utilization_1h WITH (timescaledb.continuous) AS '
            'SELECT public.time_bucket(interval %L, bucket) AS bucket, %s '
            'FROM machine_utilization_1m GROUP BY public.time_bucket(interval %L, bucket), machine_id WITH NO DATA',
            '1 hour', select_list, '1 hour'
        );
        PERFORM public.add_continuous_aggregate_policy('machine_utilization_1h',
            start_offset => interval '3 days', end_offset => interval '1 hour',
            schedule_interval => interval '15 minutes');
        -- Compression of the raw tables: migration 005 (its settings are chosen there, and why).
    ELSE
        EXECUTE format(
            'CREATE VIEW machine_utilization_1h AS '
            'SELECT date_trunc(%L, bucket, %L) AS bucket, %s '
            'FROM machine_utilization_1m GROUP BY date_trunc(%L, bucket, %L), machine_id',
            'hour', 'UTC', select_list, 'hour', 'UTC'
        );
    END IF;
END
$$;
