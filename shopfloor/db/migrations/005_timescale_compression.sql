-- TimescaleDB only (nothing happens on plain PostgreSQL): compression of the raw tables, with settings
-- chosen deliberately, and a real-time hourly roll-up.
--
-- Each raw table's primary key includes event_id: (event_id, ts), and (event_id, name, ts) for
-- machine_process; it is the key every writer's ON CONFLICT de-duplicates on. TimescaleDB checks a unique
-- key on a compressed chunk through the compression metadata, so older releases refuse to enable
-- compression unless every key column is a segment-by or an order-by column (newer ones accept it, then
-- decompress whole batches to check a key). Migration 003 used to enable compression ordered by ts alone;
-- that part was taken out of 003 (shopfloor.db.migrate accepts 003's earlier checksum) and is done here:
--
-- * segment by machine_id (machine_process: machine_id, name). Every query of raw data names the machine
--   (and the value); a segment is one machine's (one value's) rows of a chunk-day, hundreds to thousands
--   of rows. event_id is not a segment-by column: one UUID per row would make one-row segments, i.e.
--   no compression at all.
-- * order by ts DESC, event_id. Time first: each batch's min/max ts lets range scans skip batches, and
--   slowly changing values compress well in time order. event_id after it completes the key in the
--   order-by (the requirement above) without changing the time order (an event always has the same ts).
--
-- Where 003 already enabled compression and chunks are compressed, some releases refuse new settings:
-- that database keeps the settings its release accepted (a NOTICE says so); new chunks of other
-- databases get these. Raw data is compressed after 7 days (before the retention drops it).
--
-- The hourly roll-up (machine_utilization_1h, a continuous aggregate) answers with real-time data:
-- materialized-only by default, it would show nothing newer than the policy's last refresh.
DO $$
DECLARE
    t record;
BEGIN
    IF NOT shopfloor_has_timescaledb() THEN
        RETURN;
    END IF;
    FOR t IN
        SELECT * FROM (VALUES
            ('machine_state', 'machine_id'),
            ('machine_counter', 'machine_id'),
            ('machine_process', 'machine_id, name')
        ) AS raw (table_name, segmentby)
    LOOP
        IF EXISTS (
            SELECT 1 FROM timescaledb_information.chunks c
            WHERE c.hypertable_schema = current_schema() AND c.hypertable_name = t.table_name AND c.is_compressed
        ) THEN
            RAISE NOTICE '%: chunks are compressed already; its compression settings are kept', t.table_name;
        ELSE
            EXECUTE format(
                'ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = %L, '
                'timescaledb.compress_orderby = %L)',
                t.table_name, t.segmentby, 'ts DESC, event_id'
            );
        END IF;
        PERFORM public.add_compression_policy(t.table_name::regclass, interval '7 days', if_not_exists => true);
    END LOOP;
    ALTER MATERIALIZED VIEW machine_utilization_1h SET (timescaledb.materialized_only = false);
END
$$;
