-- Standard times learned from actuals (streams/orders/stdtime.py): one sample per finished operation,
-- and the robust estimate per product, operation and workcenter with its sample count.

CREATE TABLE standard_time_sample (
    work_order_id text             NOT NULL,
    seq           integer          NOT NULL,
    product_id    text             NOT NULL,
    workcenter_id text             NOT NULL,
    quantity      bigint           NOT NULL CHECK (quantity > 0),
    active_min    double precision NOT NULL CHECK (active_min >= 0),
    -- (active minutes - the routing's setup) / pieces, never below 0.
    unit_min      double precision NOT NULL CHECK (unit_min >= 0),
    finished_at   timestamptz      NOT NULL,
    PRIMARY KEY (work_order_id, seq)
);
CREATE INDEX standard_time_sample_key ON standard_time_sample (product_id, seq, workcenter_id, finished_at DESC);

-- The same operation may run in another workcenter: the workcenter is part of the key.
ALTER TABLE standard_time DROP CONSTRAINT standard_time_pkey;
ALTER TABLE standard_time ADD PRIMARY KEY (product_id, operation_seq, workcenter_id);
ALTER TABLE standard_time
    ADD COLUMN method     text             NOT NULL DEFAULT 'median_mad',
    ADD COLUMN mad_min    double precision NOT NULL DEFAULT 0,
    ADD COLUMN rejected   integer          NOT NULL DEFAULT 0 CHECK (rejected >= 0);
