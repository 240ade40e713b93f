-- Time-series tables that work the same with or without TimescaleDB.
--
-- shopfloor_create_time_table(name, columns, time_column) creates a table from its column list and
-- either makes it a TimescaleDB hypertable (daily chunks) or, on plain PostgreSQL, a table
-- partitioned by range on the time column with a DEFAULT partition, so no row is ever refused.
-- Daily partitions ahead and retention are kept by shopfloor.db.partitions (run by `shopfloor db
-- migrate` and `shopfloor db maintain`). Every time table is listed in shopfloor_time_table.

DO $$
BEGIN
    -- TimescaleDB is used only when it is installed AND preloaded: CREATE EXTENSION fails otherwise.
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%' THEN
        -- One extension per database, kept in public so every schema's search_path finds it.
        CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public;
    END IF;
END
$$;

CREATE TABLE shopfloor_time_table (
    table_name  text PRIMARY KEY,
    time_column text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('hypertable', 'partitioned')),
    -- Raw tables are dropped after the retention period; aggregates are kept.
    retained    boolean NOT NULL
);

CREATE FUNCTION shopfloor_has_timescaledb() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;

CREATE FUNCTION shopfloor_create_time_table(
    p_table text, p_columns text, p_time_column text, p_retained boolean
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF shopfloor_has_timescaledb() THEN
        EXECUTE format('CREATE TABLE %I (%s)', p_table, p_columns);
        IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'by_range' AND pronamespace = 'public'::regnamespace) THEN
            -- TimescaleDB >= 2.13: the dimension-builder interface.
            EXECUTE format(
                'SELECT public.create_hypertable(%L::regclass, public.by_range(%L::name, interval %L))',
                p_table, p_time_column, '1 day'
            );
        ELSE
            -- Older 2.x: time column name and chunk interval as arguments.
            EXECUTE format(
                'SELECT public.create_hypertable(%L::regclass, %L::name, chunk_time_interval => interval %L)',
                p_table, p_time_column, '1 day'
            );
        END IF;
        INSERT INTO shopfloor_time_table VALUES (p_table, p_time_column, 'hypertable', p_retained);
    ELSE
        EXECUTE format('CREATE TABLE %I (%s) PARTITION BY RANGE (%I)', p_table, p_columns, p_time_column);
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', p_table || '_default', p_table);
        INSERT INTO shopfloor_time_table VALUES (p_table, p_time_column, 'partitioned', p_retained);
    END IF;
END
$$;
