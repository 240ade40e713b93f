-- Current state of orders, work orders and operations, built from the contracts in
-- shopfloor/events/orders.py and mes.py. The order hub writes them (shopfloor.db.state); the
-- rescheduler and the dashboards read them.

CREATE TABLE customer_order (
    order_id    text        PRIMARY KEY,
    -- Newest version applied; an older version arriving late never overwrites a newer one.
    version     integer     NOT NULL CHECK (version >= 1),
    customer_id text        NOT NULL,
    due_date    timestamptz NOT NULL,
    priority    smallint    NOT NULL CHECK (priority BETWEEN 1 AND 5),
    rush        boolean     NOT NULL DEFAULT false,
    status      text        NOT NULL CHECK (status IN
                    ('draft', 'pending_approval', 'approved', 'in_production', 'done', 'cancelled')),
    project     text,
    channel     text        NOT NULL,
    margin_pct  double precision,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_order_customer ON customer_order (customer_id);
CREATE INDEX customer_order_status_due ON customer_order (status, due_date);

-- Lines of the current version (replaced when a newer version arrives).
CREATE TABLE order_line (
    order_id   text          NOT NULL REFERENCES customer_order ON DELETE CASCADE,
    line_no    integer       NOT NULL CHECK (line_no >= 1),
    product_id text          NOT NULL,
    quantity   bigint        NOT NULL CHECK (quantity > 0),
    unit_price numeric(14,4) NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_no)
);

-- Every version ever seen, as the full payload snapshot; rows are never updated.
CREATE TABLE order_version (
    order_id    text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    event_type  text        NOT NULL,
    snapshot    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, version)
);

CREATE FUNCTION shopfloor_reject_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER order_version_immutable BEFORE UPDATE ON order_version
    FOR EACH ROW EXECUTE FUNCTION shopfloor_reject_update();

-- No foreign key to customer_order: a work order is useful to the scheduler even if its order row
-- arrives later (replays, tests), and orders are never deleted.
CREATE TABLE work_order (
    work_order_id text        PRIMARY KEY,
    order_id      text        NOT NULL,
    product_id    text        NOT NULL,
    quantity      bigint      NOT NULL CHECK (quantity > 0),
    due_date      timestamptz NOT NULL,
    priority      smallint    NOT NULL CHECK (priority BETWEEN 1 AND 5),
    rush          boolean     NOT NULL DEFAULT false,
    -- Earliest start (material ready); NULL = now.
    release_time  timestamptz,
    status        text        NOT NULL DEFAULT 'released' CHECK (status IN
                      ('released', 'started', 'paused', 'done', 'cancelled')),
    good          bigint      NOT NULL DEFAULT 0 CHECK (good >= 0),
    scrap         bigint      NOT NULL DEFAULT 0 CHECK (scrap >= 0),
    actual_start  timestamptz,
    actual_finish timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_order_order ON work_order (order_id);
CREATE INDEX work_order_open ON work_order (status, due_date) WHERE status <> 'done' AND status <> 'cancelled';

-- The routing steps of a work order with their progress.
CREATE TABLE operation (
    work_order_id     text             NOT NULL REFERENCES work_order ON DELETE CASCADE,
    seq               integer          NOT NULL CHECK (seq BETWEEN 1 AND 99),
    name              text             NOT NULL,
    workcenter_id     text             NOT NULL,
    eligible_machines text[]           NOT NULL CHECK (cardinality(eligible_machines) >= 1),
    setup_min         double precision NOT NULL DEFAULT 0 CHECK (setup_min >= 0),
    unit_min          double precision NOT NULL CHECK (unit_min >= 0),
    status            text             NOT NULL DEFAULT 'pending' CHECK (status IN
                          ('pending', 'started', 'paused', 'done')),
    -- The machine it runs or ran on (set when started).
    machine_id        text,
    actual_start      timestamptz,
    actual_finish     timestamptz,
    good              bigint           NOT NULL DEFAULT 0 CHECK (good >= 0),
    scrap             bigint           NOT NULL DEFAULT 0 CHECK (scrap >= 0),
    updated_at        timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (work_order_id, seq)
);
CREATE INDEX operation_workcenter_open ON operation (workcenter_id) WHERE status <> 'done';

-- Standard times learned from the durations the scan guns report (refined as samples accumulate).
CREATE TABLE standard_time (
    product_id    text             NOT NULL,
    operation_seq integer          NOT NULL CHECK (operation_seq BETWEEN 1 AND 99),
    workcenter_id text             NOT NULL,
    unit_min      double precision NOT NULL CHECK (unit_min >= 0),
    setup_min     double precision NOT NULL DEFAULT 0 CHECK (setup_min >= 0),
    samples       integer          NOT NULL DEFAULT 0 CHECK (samples >= 0),
    updated_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, operation_seq)
);
