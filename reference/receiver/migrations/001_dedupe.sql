-- Shared dedupe: one row per webhook-id held by any receiver instance.
-- claimed_at and expires_at are unix nanoseconds from the receivers'
-- clocks; pending is a claim whose acknowledgement is not yet certain.
CREATE TABLE hookrig_receiver_dedupe (
	id         text    PRIMARY KEY,
	claimed_at bigint  NOT NULL,
	expires_at bigint  NOT NULL,
	pending    boolean NOT NULL
);
CREATE INDEX hookrig_receiver_dedupe_expires ON hookrig_receiver_dedupe (expires_at);
