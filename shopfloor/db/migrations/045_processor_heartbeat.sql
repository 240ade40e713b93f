-- Dashboards (issue 17): a heartbeat of every stream processor, so a page can tell a quiet plant (the
-- processors run, no events come) from processors that are down (nothing is written any more).
-- One row per processor name, upserted every few seconds by each of its running instances (any one of
-- them alive keeps the row fresh). A processor retired for good: delete its row, or the pages that read
-- it stay stale.
CREATE TABLE IF NOT EXISTS processor_heartbeat (
    processor text        PRIMARY KEY,
    beat_at   timestamptz NOT NULL DEFAULT now(),
    instance  text        NOT NULL
);
