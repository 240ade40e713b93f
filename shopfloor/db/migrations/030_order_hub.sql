-- The order hub (orders/): serial numbers, channel ids, notes and custom fields beside the current order,
-- approval steps, and the transactional outbox of order and work-order events. Owned by the order hub;
-- the rescheduler and the dashboards read these tables (see docs/architecture.md, "Order hub").

-- One counter per site and year. The hub increments it inside the transaction that inserts the order, so
-- the row lock orders concurrent creations and a rolled-back creation gives its number back: serial
-- numbers are never duplicated or skipped.
CREATE TABLE order_serial (
    site_id    text    NOT NULL,
    year       integer NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    last_value bigint  NOT NULL CHECK (last_value >= 0),
    PRIMARY KEY (site_id, year)
);

-- A held order is not planned: the rescheduler plans only 'approved' and 'in_production' orders.
ALTER TABLE customer_order DROP CONSTRAINT customer_order_status_check;
ALTER TABLE customer_order ADD CONSTRAINT customer_order_status_check CHECK (status IN
    ('draft', 'pending_approval', 'approved', 'in_production', 'on_hold', 'done', 'cancelled'));

ALTER TABLE customer_order
    ADD COLUMN site_id       text,
    ADD COLUMN serial        bigint,
    -- The id the sales channel knows the order by (its webhook's order id), unique per channel.
    ADD COLUMN external_id   text,
    ADD COLUMN notes         text NOT NULL DEFAULT '',
    -- Plant-declared fields (orders config YAML), validated by the hub.
    ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN tags          text[] NOT NULL DEFAULT '{}',
    -- The status a held order goes back to when released.
    ADD COLUMN held_from     text,
    ADD COLUMN total_amount  numeric(18,4) NOT NULL DEFAULT 0,
    ADD COLUMN created_by    text NOT NULL DEFAULT '',
    ADD COLUMN approved_at   timestamptz;
CREATE UNIQUE INDEX customer_order_channel_external ON customer_order (channel, external_id)
    WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX customer_order_site_serial ON customer_order (site_id, serial) WHERE serial IS NOT NULL;

-- Who made each version (rows stay immutable: order_version_immutable).
ALTER TABLE order_version ADD COLUMN recorded_by text NOT NULL DEFAULT '';

-- The approval steps an order needs (one per matching rule, plus the sales confirmation), and who signed
-- each and when. The order is approved when every step of it is approved.
CREATE TABLE order_approval_step (
    order_id      text        NOT NULL REFERENCES customer_order ON DELETE CASCADE,
    step          text        NOT NULL,
    -- Position in the order's list of steps (the rules' order in the YAML).
    ordinal       integer     NOT NULL DEFAULT 0,
    -- The rule that asked for it, and why (e.g. "total 61,200.00 over 50,000").
    rule          text        NOT NULL,
    reason        text        NOT NULL DEFAULT '',
    required_role text        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    text,
    decided_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, step)
);
CREATE INDEX order_approval_step_pending ON order_approval_step (required_role) WHERE status = 'pending';

-- Transactional outbox of order.* and wo.released events: written in the transaction that changes the
-- order, published by the hub's publisher loop after the commit, stored as sent (same event_id on every
-- attempt). Kafka and the outbound webhook each have their own delivery mark.
CREATE TABLE order_outbox (
    id           bigserial   PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    order_id     text        NOT NULL,
    event_type   text        NOT NULL,
    event        text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempt      integer     NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT '',
    -- NULL while the outbound webhook (when one is configured) has not delivered it.
    webhook_at   timestamptz,
    webhook_attempt integer  NOT NULL DEFAULT 0
);
CREATE INDEX order_outbox_unpublished ON order_outbox (id) WHERE published_at IS NULL;
CREATE INDEX order_outbox_webhook_pending ON order_outbox (id) WHERE webhook_at IS NULL;

-- Channel webhook deliveries: the idempotency key (or the channel's order id) of each accepted delivery and
-- the order it made, so a retried delivery answers with that order instead of making another.
CREATE TABLE channel_delivery (
    channel         text        NOT NULL,
    idempotency_key text        NOT NULL,
    order_id        text        NOT NULL REFERENCES customer_order ON DELETE CASCADE,
    body_sha256     text        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, idempotency_key)
);

-- Signatures already accepted: the very same signed request arriving again (a replay) is refused. Rows
-- older than the timestamp tolerance can go (their requests are refused as old anyway).
CREATE TABLE channel_signature_seen (
    signature   text        PRIMARY KEY,
    channel     text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_signature_seen_age ON channel_signature_seen (received_at);
