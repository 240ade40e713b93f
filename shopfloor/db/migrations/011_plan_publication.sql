-- Transactional outbox of schedule.published: a plan's event is stored, pending, in the transaction that
-- writes the plan, and marked published only once Kafka has acknowledged it. A crash or a Kafka outage
-- between the commit and the publish delays the event; it never loses it. Owned by the rescheduler.
-- Plans written before this migration have no row: they count as published.
CREATE TABLE IF NOT EXISTS plan_publication (
    -- Pruned with its plan (keep_plans): an unpublished event of a plan that no longer exists is moot.
    plan_id      text PRIMARY KEY REFERENCES schedule_plan (plan_id) ON DELETE CASCADE,
    site_id      text NOT NULL,
    version      integer NOT NULL,
    event_id     uuid NOT NULL UNIQUE,
    -- The serialized event, published as is on every attempt (same event_id: consumers de-duplicate).
    event        text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempt      integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT ''
);
-- The pending ones of a site, oldest version first.
CREATE INDEX IF NOT EXISTS plan_publication_pending_idx ON plan_publication (site_id, version)
    WHERE published_at IS NULL;
