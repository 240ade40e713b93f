-- Customer changes to orders already in production (order hub): the change waits, with its impact report,
-- until every department concerned has signed off; then it becomes the order's next version.
CREATE TABLE order_change (
    change_id       bigserial   PRIMARY KEY,
    order_id        text        NOT NULL REFERENCES customer_order ON DELETE CASCADE,
    -- 'change' (a patch of lines / due date / product) or 'hold'.
    kind            text        NOT NULL CHECK (kind IN ('change', 'hold')),
    -- The requested patch (the API's OrderPatch), or {"reason": ...} for a hold.
    request         jsonb       NOT NULL,
    from_version    integer     NOT NULL,
    -- The impact report (orders.impact.ImpactReport) as the departments saw it.
    impact          jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'rejected')),
    requested_by    text        NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    applied_version integer
);
-- One open change per order at a time: a second waits for the first to be decided.
CREATE UNIQUE INDEX order_change_one_pending ON order_change (order_id) WHERE status = 'pending';

CREATE TABLE order_change_signoff (
    change_id     bigint      NOT NULL REFERENCES order_change ON DELETE CASCADE,
    department    text        NOT NULL,
    ordinal       integer     NOT NULL DEFAULT 0,
    required_role text        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'signed', 'rejected')),
    signed_by     text,
    signed_at     timestamptz,
    -- When the department was told (SMTP and the signed change webhook); NULL while still to do.
    notified_at   timestamptz,
    notify_attempt integer    NOT NULL DEFAULT 0,
    notify_error  text        NOT NULL DEFAULT '',
    PRIMARY KEY (change_id, department)
);
CREATE INDEX order_change_signoff_unnotified ON order_change_signoff (change_id) WHERE notified_at IS NULL;
