-- Alert deliveries are retried until delivered, with a growing pause between attempts (next_attempt_at);
-- one that keeps failing is visible on its alert (delivery_state 'failing'), in a metric and in the log.
ALTER TABLE alert_delivery ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS alert_delivery_due_idx ON alert_delivery (next_attempt_at) WHERE delivered_at IS NULL;
ALTER TABLE alert ADD COLUMN IF NOT EXISTS delivery_state text NOT NULL DEFAULT 'pending'
    CHECK (delivery_state IN ('pending', 'delivered', 'failing'));

-- The material need date purchasing knows per work order: the first plan's need, moved by each
-- material-earlier alert. New needs are compared with it, not with the previous plan only.
CREATE TABLE IF NOT EXISTS material_baseline (
    work_order_id text PRIMARY KEY,
    order_id      text NOT NULL,
    need          timestamptz NOT NULL,
    plan_id       text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
