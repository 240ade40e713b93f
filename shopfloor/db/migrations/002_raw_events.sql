-- Raw events as they arrive from Kafka, one row per event (per value for process data).
--
-- On a partitioned table (or hypertable) every unique key must include the time column, so the key
-- is (event_id, ts) rather than event_id alone. That is just as good for de-duplication: a redelivered
-- event carries the same event_id AND the same ts, so writers use ON CONFLICT (event_id, ts).
-- Columns shared by all raw tables: source and seq of the envelope (gap detection), historical (replayed
-- from store-and-forward), received_at (when the writer stored it; ts is the event time).

SELECT shopfloor_create_time_table('machine_state', $cols$
    event_id    uuid        NOT NULL,
    ts          timestamptz NOT NULL,
    machine_id  text        NOT NULL,
    state       text        NOT NULL CHECK (state IN
                    ('RUNNING', 'IDLE', 'SETUP', 'STOPPED', 'MAINTENANCE', 'FAULT', 'OFFLINE')),
    reason_code text,
    source      text        NOT NULL,
    seq         bigint      NOT NULL,
    historical  boolean     NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, ts)
$cols$, 'ts', true);
CREATE INDEX machine_state_machine_ts ON machine_state (machine_id, ts DESC);

-- Counters are cumulative as the PLC holds them; a drop is a reset (the streams detect it).
SELECT shopfloor_create_time_table('machine_counter', $cols$
    event_id    uuid        NOT NULL,
    ts          timestamptz NOT NULL,
    machine_id  text        NOT NULL,
    good        bigint      NOT NULL CHECK (good >= 0),
    scrap       bigint      NOT NULL CHECK (scrap >= 0),
    source      text        NOT NULL,
    seq         bigint      NOT NULL,
    historical  boolean     NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, ts)
$cols$, 'ts', true);
CREATE INDEX machine_counter_machine_ts ON machine_counter (machine_id, ts DESC);

-- One row per named value of a machine.process event, so a value's history is a plain range query.
SELECT shopfloor_create_time_table('machine_process', $cols$
    event_id    uuid             NOT NULL,
    ts          timestamptz      NOT NULL,
    machine_id  text             NOT NULL,
    name        text             NOT NULL,
    value       double precision NOT NULL,
    unit        text             NOT NULL,
    source      text             NOT NULL,
    seq         bigint           NOT NULL,
    historical  boolean          NOT NULL DEFAULT false,
    received_at timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, name, ts)
$cols$, 'ts', true);
CREATE INDEX machine_process_machine_name_ts ON machine_process (machine_id, name, ts DESC);

-- Work-order events (wo.*): the columns of every wo payload, NULL where a type does not carry them.
SELECT shopfloor_create_time_table('mes_event', $cols$
    event_id      uuid        NOT NULL,
    ts            timestamptz NOT NULL,
    type          text        NOT NULL CHECK (type IN
                      ('wo.started', 'wo.reported', 'wo.paused', 'wo.resumed', 'wo.finished')),
    work_order_id text        NOT NULL,
    operation_seq integer     NOT NULL,
    machine_id    text,
    operator_id   text,
    good          bigint      CHECK (good >= 0),
    scrap         bigint      CHECK (scrap >= 0),
    reason        text,
    note          text,
    source        text        NOT NULL,
    seq           bigint      NOT NULL,
    historical    boolean     NOT NULL DEFAULT false,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, ts)
$cols$, 'ts', true);
CREATE INDEX mes_event_work_order_ts ON mes_event (work_order_id, operation_seq, ts);

-- Events that reached a stream processor after their window had closed: kept for audit and for the
-- replay tool, which rebuilds the aggregates they would have changed. Low volume: a plain table.
CREATE TABLE late_event (
    event_id    uuid        PRIMARY KEY,
    ts          timestamptz NOT NULL,
    type        text        NOT NULL,
    source      text        NOT NULL,
    key         text        NOT NULL,
    -- Which processor saw it late, and its watermark at that moment.
    processor   text        NOT NULL,
    watermark   timestamptz,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX late_event_ts ON late_event (ts);
