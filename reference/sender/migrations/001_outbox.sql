-- The reference sender's outbox on PostgreSQL, shared by every instance.
-- Times are unix nanoseconds from the instances' clocks.

CREATE TABLE hookrig_sender_endpoints (
	id              text    PRIMARY KEY,
	record          text    NOT NULL, -- the Endpoint as JSON (url, secret, policy)
	disabled        boolean NOT NULL DEFAULT false,
	disabled_reason text    NOT NULL DEFAULT '',
	disabled_at     bigint  NOT NULL DEFAULT 0,
	-- A deleted endpoint stays as a tombstone (disabled, hidden), so that
	-- an attempt in flight when it went finds why.
	deleted         boolean NOT NULL DEFAULT false
);

-- ord orders a lane: acceptance order, and a replayed event goes to the
-- back of its lane (a fresh ord), as in the bbolt outbox.
CREATE SEQUENCE hookrig_sender_lane_order;

-- state: 0 pending, 1 delivered, 2 dead-lettered (the bbolt outbox's codes).
-- lane is the ordering key when the endpoint delivers in order, else NULL.
-- lease_owner and lease_until mark an attempt in flight: claim_n is its
-- webhook-attempt number, claim_at when it was claimed.
CREATE TABLE hookrig_sender_events (
	seq         bigserial PRIMARY KEY,
	id          text     NOT NULL UNIQUE,
	endpoint    text     NOT NULL,
	type        text     NOT NULL,
	key         text     NOT NULL,
	lane        text,
	ord         bigint   NOT NULL DEFAULT nextval('hookrig_sender_lane_order'),
	payload     bytea    NOT NULL,
	accepted_at bigint   NOT NULL,
	state       smallint NOT NULL DEFAULT 0,
	attempts    integer  NOT NULL DEFAULT 0,
	total       integer  NOT NULL DEFAULT 0,
	since       bigint   NOT NULL,
	next_at     bigint   NOT NULL,
	final_at    bigint   NOT NULL DEFAULT 0,
	replays     integer  NOT NULL DEFAULT 0,
	reason      text     NOT NULL DEFAULT '',
	lease_owner text,
	lease_until bigint,
	claim_n     integer,
	claim_at    bigint
);
CREATE INDEX hookrig_sender_events_due ON hookrig_sender_events (next_at, seq) WHERE state = 0 AND lease_owner IS NULL;
CREATE INDEX hookrig_sender_events_leased ON hookrig_sender_events (lease_until) WHERE state = 0 AND lease_owner IS NOT NULL;
CREATE INDEX hookrig_sender_events_lanes ON hookrig_sender_events (endpoint, lane, ord) WHERE state = 0 AND lane IS NOT NULL;
CREATE INDEX hookrig_sender_events_pending ON hookrig_sender_events (endpoint, seq) WHERE state = 0;
CREATE INDEX hookrig_sender_events_dlq ON hookrig_sender_events (seq) WHERE state = 2;

-- One row per attempt, with the instance that made it: an interrupted
-- attempt is recorded by the instance that found its lease expired, under
-- the name of the instance that made it.
CREATE TABLE hookrig_sender_attempts (
	seq      bigint  NOT NULL,
	n        integer NOT NULL,
	instance text    NOT NULL,
	at       bigint  NOT NULL,
	duration bigint  NOT NULL,
	status   integer NOT NULL,
	err      text    NOT NULL,
	detail   text    NOT NULL,
	PRIMARY KEY (seq, n)
);
