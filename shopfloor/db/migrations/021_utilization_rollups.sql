-- Hourly, shift and day roll-ups of machine_utilization_1m. Ratios come from sums (an average of
-- per-minute ratios would weigh an idle minute like a busy one):
--   availability = run_planned_s / planned_s, performance = ideal_s / running_s,
--   quality = good / (good + scrap), oee = their product.
--
-- Hourly: on TimescaleDB a continuous aggregate with real-time aggregation (materialized_only =
-- false), so a query sees the current hour before the refresh policy has run; a plain view otherwise.
-- Hours are UTC hours, which are the plant's local hours in every zone with a whole-hour offset.
-- Shift and day: plain views on both paths (their boundaries come from the plant calendar:
-- shift_occurrence and plant_calendar, written by `shopfloor streams rollups sync --plant FILE` and at
-- the start of `shopfloor streams utilization run`).

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates WHERE view_name = 'machine_utilization_1h'
               AND view_schema = current_schema()) THEN
        DROP MATERIALIZED VIEW machine_utilization_1h;
    ELSE
        DROP VIEW IF EXISTS machine_utilization_1h;
    END IF;
EXCEPTION WHEN undefined_table THEN
    -- No TimescaleDB: timescaledb_information does not exist.
    DROP VIEW IF EXISTS machine_utilization_1h;
END
$$;

DO $$
DECLARE
    sums constant text := $sql$
        machine_id,
        sum(running_s) AS running_s, sum(idle_s) AS idle_s, sum(setup_s) AS setup_s,
        sum(stopped_s) AS stopped_s, sum(maintenance_s) AS maintenance_s, sum(fault_s) AS fault_s,
        sum(offline_s) AS offline_s, sum(good)::bigint AS good, sum(scrap)::bigint AS scrap,
        sum(planned_s) AS planned_s, sum(run_planned_s) AS run_planned_s, sum(ideal_s) AS ideal_s,
        sum(run_planned_s) / NULLIF(sum(planned_s), 0) AS availability,
        sum(ideal_s) / NULLIF(sum(running_s), 0) AS performance,
        sum(good)::double precision / NULLIF(sum(good + scrap), 0) AS quality,
        (sum(run_planned_s) / NULLIF(sum(planned_s), 0)) * (sum(ideal_s) / NULLIF(sum(running_s), 0))
            * (sum(good)::double precision / NULLIF(sum(good + scrap), 0)) AS oee
    $sql$;
BEGIN
    IF shopfloor_has_timescaledb() THEN
        EXECUTE format(
            'CREATE MATERIALIZED VIEW machine_utilization_1h '
            'WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS '
            'SELECT public.time_bucket(interval %L, bucket) AS bucket, %s '
            'FROM machine_utilization_1m GROUP BY public.time_bucket(interval %L, bucket), machine_id WITH NO DATA',
            '1 hour', sums, '1 hour'
        );
        PERFORM public.add_continuous_aggregate_policy('machine_utilization_1h',
            start_offset => interval '3 days', end_offset => interval '1 hour',
            schedule_interval => interval '15 minutes');
    ELSE
        EXECUTE format(
            'CREATE VIEW machine_utilization_1h AS '
            'SELECT date_trunc(%L, bucket, %L) AS bucket, %s '
            'FROM machine_utilization_1m GROUP BY date_trunc(%L, bucket, %L), machine_id',
            'hour', 'UTC', sums, 'hour', 'UTC'
        );
    END IF;

    -- Each machine's shift occurrences (from its workcenter's calendar): `day` is the plant-local date
    -- the shift started on (a night shift belongs to the day it began).
    CREATE TABLE shift_occurrence (
        machine_id text        NOT NULL,
        shift_name text        NOT NULL,
        day        date        NOT NULL,
        start_at   timestamptz NOT NULL,
        end_at     timestamptz NOT NULL CHECK (end_at > start_at),
        PRIMARY KEY (machine_id, start_at)
    );
    -- The plant's time zone and the local time its production day starts (its first shift's start).
    CREATE TABLE plant_calendar (
        singleton boolean  PRIMARY KEY DEFAULT true CHECK (singleton),
        timezone  text     NOT NULL,
        day_start interval NOT NULL DEFAULT interval '0'
    );

    EXECUTE format(
        'CREATE VIEW machine_utilization_shift AS '
        'SELECT s.day, s.shift_name, s.start_at, s.end_at, %s '
        'FROM shift_occurrence s JOIN machine_utilization_1m u USING (machine_id) '
        'WHERE u.bucket >= s.start_at AND u.bucket < s.end_at '
        'GROUP BY s.day, s.shift_name, s.start_at, s.end_at, machine_id',
        sums
    );
    EXECUTE format(
        'CREATE VIEW machine_utilization_day AS '
        'SELECT ((u.bucket AT TIME ZONE p.timezone) - p.day_start)::date AS day, %s '
        'FROM machine_utilization_1m u CROSS JOIN plant_calendar p '
        'GROUP BY 1, machine_id',
        sums
    );
END
$$;
