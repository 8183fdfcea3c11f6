package sender

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// The dispatcher of an instance on PostgreSQL (see pgstore.go). One
// goroutine (loop) claims due events up to the free workers, leaving out
// endpoints this instance may not send to now (delivery.Admit: window,
// pause, rate, breaker); workers send them (deliver.go) and record the
// outcome, in groups (commitOutcomes), with each lease as its guard: an
// outcome whose lease another instance took over is not recorded (that
// instance reported the attempt as interrupted). Another goroutine (keep) renews this instance's leases,
// takes over expired ones, dead-letters what waits for a disabled
// endpoint and re-reads the endpoints; a third (listen) turns NOTIFY into
// a wake-up.
//
// Fair turns between endpoints are per instance and coarser than the
// bbolt dispatcher's: a claim takes due events in due order, and each
// endpoint is held to its fair share of this instance's workers.

func (p *pgStore) start(ctx context.Context) {
	loopCtx, stopLoop := context.WithCancel(ctx)
	sendCtx, stopSends := context.WithCancel(context.Background())
	p.s.started, p.s.stopLoop, p.s.stopSends = true, stopLoop, stopSends
	p.s.loopDone, p.s.quit = make(chan struct{}), make(chan struct{})
	keepCtx, stopKeep := context.WithCancel(context.Background())
	keepDone := make(chan struct{})
	go func() {
		defer close(p.s.loopDone)
		listenDone := make(chan struct{})
		notifyDone := make(chan struct{})
		go func() { defer close(listenDone); p.listen(loopCtx) }()
		go func() { defer close(notifyDone); p.notifier(loopCtx) }()
		p.loop(loopCtx)
		<-listenDone
		<-notifyDone
	}()
	go func() { defer close(keepDone); p.keep(keepCtx) }()
	p.s.workers.Go(func() {
		<-p.s.quit
		stopKeep()
		<-keepDone
	})
	for range p.s.cfg.Workers {
		p.s.workers.Go(func() { p.work(sendCtx) })
	}
}

// stop: a crash leaves every lease as it is, for other instances to take
// over once it expires; a graceful stop lets attempts finish within the
// grace, and those cut off keep their lease too (reported as interrupted
// by whoever takes them over).
func (p *pgStore) stop(crash bool) {
	// Ingests already queued are written on a graceful stop and
	// abandoned (answered with the crash, never acknowledged) on a crash.
	// Outcomes queued are written on a graceful stop, once every worker
	// is done; a crash abandons them (their leases stay).
	if crash {
		p.ingests.stop(ErrCrashed)
		p.outcomes.halt(ErrCrashed)
	} else {
		p.ingests.stop(nil)
	}
	if p.s.started {
		p.s.stopLoop()
		<-p.s.loopDone
		if !crash {
			p.s.waitGrace()
		}
		p.s.stopSends()
		p.d.waitIdle(nil)
		close(p.s.quit)
		p.s.workers.Wait()
	}
	p.outcomes.stop(nil) // after a crash, halted above already
	if !crash {
		c := p.counters()
		p.mu.Lock()
		p.closed = &c
		p.mu.Unlock()
	}
	p.pool.Close()
}

// loop claims work until ctx ends.
func (p *pgStore) loop(ctx context.Context) {
	// retry is how soon to look again after a claim that found events
	// due but none to take: it doubles while that repeats, so that
	// instances contending for the same events, or a lane waiting for its
	// head, cost a few queries a second, not a busy loop.
	retry := pgRetryMin
	raced := 0 // claims in a row that lost candidates to another instance
	for {
		next, dueNow, lost := p.claim(ctx)
		if lost && raced < pgRacedMax {
			// Other instances locked the candidates this claim chose
			// (they read the same head of the queue at the same time):
			// those are leased now and no longer candidates, so the next
			// claim reads the events after them. Waiting instead (the
			// backoff below) left this instance idle with events due.
			raced++
			if ctx.Err() != nil {
				return
			}
			continue
		}
		raced = 0
		now := p.s.clock.Now()
		if dueNow {
			next, retry = now.Add(retry), min(2*retry, pgPollInterval)
		} else {
			retry = pgRetryMin
		}
		if poll := now.Add(pgPollInterval); next.IsZero() || next.After(poll) {
			next = poll
		}
		timer := clock.TimerAt(p.s.clock, next)
		select {
		case <-ctx.Done():
		case <-p.d.wake:
		case <-timer.C():
		}
		timer.Stop()
		if ctx.Err() != nil {
			return
		}
	}
}

// pgMaxHeld bounds the leases an instance holds, in workers: attempts
// in flight and outcomes waiting to be written.
const pgMaxHeld = 2

// pgRacedMax bounds the claims in a row retried at once after losing
// candidates to another instance; then the loop waits as after any claim
// that found events due but took none.
const pgRacedMax = 4

// pgRetryMin is the first wait after a claim that found due events but
// took none.
const pgRetryMin = 10 * time.Millisecond

// claim leases due events for the free workers and hands them out; it
// returns when to look again (zero: when woken or polled), whether it
// took nothing while events were due, and whether it lost candidates it
// chose to another instance's lock (claim again at once).
func (p *pgStore) claim(ctx context.Context) (next time.Time, dueNow, lost bool) {
	now := p.s.clock.Now()
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	p.d.mu.Lock()
	free := p.d.workers - p.d.inflight
	blocked := []string{} // not nil: NOT (x = ANY(NULL)) would exclude every row
	var capped []string   // endpoints this instance may send only a few more to
	var caps []int32
	rooms, uncapped := 0, false // what the capped endpoints may take; whether any endpoint is not capped
	split := delivery.Split{Workers: p.d.workers}
	for _, ep := range p.d.endpoints {
		if ep.inflight > 0 {
			split.Want(ep.flow.Suspect(), ep.inflight)
		}
	}
	look := split
	look.Wanting = max(1, look.Wanting)
	for id, ep := range p.d.endpoints {
		if ep.disabled {
			blocked = append(blocked, id)
			continue
		}
		// A look, not a take: what is admitted is decided per event below.
		share := look.Share(ep.flow.Suspect())
		es := ep.state() // a copy: the look changes nothing
		if ok, again := delivery.Admit(&es, ep.inflight, share, now); !ok {
			blocked = append(blocked, id)
			earliest(again)
			continue
		}
		if room := es.Limit(share) - ep.inflight; room < free { // Admit changes no window
			capped, caps = append(capped, id), append(caps, int32(room))
			rooms += room
		} else {
			uncapped = true
		}
	}
	p.d.mu.Unlock()
	// Outcomes are written in groups after their workers moved on: the
	// leases held, outcomes not yet written included, stay within
	// pgMaxHeld workers' worth.
	p.mu.Lock()
	free = min(free, pgMaxHeld*p.d.workers-len(p.claims))
	p.mu.Unlock()
	if free <= 0 {
		return next, false, false
	}
	// The candidates read: a few per event this instance may take. When
	// every endpoint it knows is capped, that is their rooms, not the
	// free workers (one endpoint of concurrency 32 and 64 workers: 128
	// candidates read, not 256, a third of a claim's time). An endpoint
	// it does not know yet is still found in due order among them.
	scan := free
	if !uncapped && len(capped) > 0 {
		scan = min(free, rooms)
	}

	// Candidates are read in due order without locks, at most a few per
	// free worker and no more per endpoint than this instance may send
	// it (claiming more would only give them back); then locked, skipping
	// those another instance holds. The lock re-checks state and lease.
	// The chosen events are handed to the lock as an array (seq =
	// ANY(ARRAY(...)), computed once, then primary-key lookups), not as
	// IN (subquery): on a table not yet analyzed (a fresh database filling
	// fast) the planner took the subquery for one row and ran it as a
	// nested loop over every due event, the window re-sorted per row:
	// 100-400 ms a claim with a few thousand events due. The lock's
	// state test is written state + 0 = 0 so that it implies no partial
	// index's predicate: the planner then takes the chosen rows by
	// primary key, where with state = 0 it walked the whole due index
	// and filtered it by the array (1 µs per due event: 10 ms a claim
	// with 10,000 waiting). The endpoints disabled (on any instance's
	// word: the database refuses their events even before this instance
	// hears of it) are read once, an array added to this instance's
	// blocked ones; a semi-join with the endpoints looked each
	// candidate's endpoint up (2 buffers a candidate, a third of a
	// claim's).
	cctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	rows, err := p.pool.Query(cctx, `WITH cand AS (
			SELECT e.seq, e.endpoint, e.next_at FROM hookrig_sender_events e
			WHERE e.state = 0 AND e.lease_owner IS NULL AND e.next_at <= $1
				AND NOT (e.endpoint = ANY($3::text[] || ARRAY(SELECT id FROM hookrig_sender_endpoints WHERE disabled)))
				AND (e.lane IS NULL OR NOT EXISTS (
					SELECT 1 FROM hookrig_sender_events h
					WHERE h.state = 0 AND h.endpoint = e.endpoint AND h.lane = e.lane AND h.ord < e.ord))
			ORDER BY e.next_at, e.seq
			LIMIT $8 * 4),
		ranked AS (
			SELECT c.seq, row_number() OVER (PARTITION BY c.endpoint ORDER BY c.next_at, c.seq) AS rn, cap.room
			FROM cand c LEFT JOIN unnest($6::text[], $7::int[]) AS cap(endpoint, room) ON cap.endpoint = c.endpoint),
		chosen AS (
			SELECT seq FROM ranked WHERE room IS NULL OR rn <= room),
		due AS (
			SELECT e.seq FROM hookrig_sender_events e
			WHERE e.seq = ANY(ARRAY(SELECT seq FROM chosen))
				AND e.state + 0 = 0 AND e.lease_owner IS NULL
			ORDER BY e.seq
			LIMIT $2
			FOR UPDATE OF e SKIP LOCKED),
		took AS (
			UPDATE hookrig_sender_events e SET lease_owner = $4, lease_until = $5, claim_n = e.total + 1, claim_at = $1
			FROM due WHERE e.seq = due.seq
			RETURNING e.seq, e.id, e.endpoint, e.key, e.payload, e.attempts, e.total, e.since, e.next_at)
		SELECT k.n, t.seq, t.id, t.endpoint, t.key, t.payload, t.attempts, t.total, t.since, t.next_at
		FROM (SELECT count(*) AS n FROM chosen) k LEFT JOIN took t ON true`,
		now.UnixNano(), free, blocked, p.instance, now.Add(p.lease).UnixNano(), capped, caps, scan)
	if err != nil {
		if ctx.Err() == nil {
			p.s.logger.Error("claiming events", "err", err)
		}
		return now.Add(time.Second), false, false
	}
	var jobs []*job
	var chosen int64 // candidates the claim tried to lock
	for rows.Next() {
		// A claim that took nothing answers one row of NULLs beside the
		// count of candidates it tried.
		var seq, since, due *int64
		var attempts, total *int32
		var id, endpoint, key *string
		j := &job{it: &item{idx: -1}, claimedAt: now}
		if err := rows.Scan(&chosen, &seq, &id, &endpoint, &key, &j.ev.Payload, &attempts, &total, &since, &due); err != nil {
			rows.Close()
			p.s.logger.Error("claiming events", "err", err)
			return now.Add(time.Second), false, false
		}
		if seq == nil {
			continue
		}
		j.ev.ID, j.ev.Endpoint, j.ev.Key = *id, *endpoint, *key
		j.it.seq, j.it.id, j.it.key, j.it.total, j.it.due = uint64(*seq), j.ev.ID, j.ev.Key, uint32(*total), fromUnixNano(*due)
		j.it.st = delivery.DeliveryState{Attempts: int(*attempts), FirstAt: fromUnixNano(*since)}
		j.n = uint32(*total) + 1
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		p.s.logger.Error("claiming events", "err", err)
		return now.Add(time.Second), false, false
	}
	for _, j := range jobs {
		ep, err := p.endpointRT(cctx, j.ev.Endpoint)
		if err != nil || ep == nil {
			p.s.logger.Error("reading the endpoint of a claimed event", "event", j.ev.ID, "endpoint", j.ev.Endpoint, "err", err)
			ep = nil
		}
		j.it.ep = ep
	}

	// Admit each claimed event as the bbolt dispatcher would; what this
	// instance may not send now goes back, its lease dropped, no attempt
	// made.
	var back []int64
	p.d.mu.Lock()
	fresh := map[*endpointRT]bool{} // endpoints wanting workers that had none in flight
	for _, j := range jobs {
		if ep := j.it.ep; ep != nil && ep.inflight == 0 && !fresh[ep] {
			fresh[ep] = true
			split.Want(ep.flow.Suspect(), 0)
		}
	}
	split.Wanting = max(1, split.Wanting)
	var run []*job
	for _, j := range jobs {
		ep := j.it.ep
		if ep == nil {
			back = append(back, int64(j.it.seq))
			continue
		}
		suspect := ep.flow.Suspect()
		es := ep.state()
		ok, again := delivery.Admit(&es, ep.inflight, split.Share(suspect), now)
		ep.setState(es)
		if !ok {
			earliest(again)
			back = append(back, int64(j.it.seq))
			continue
		}
		ep.inflight++
		p.d.inflight++
		split.Took(suspect)
		run = append(run, j)
	}
	p.d.mu.Unlock()
	p.mu.Lock()
	for _, j := range run {
		p.claims[j.it.seq] = j.n
	}
	p.mu.Unlock()
	for _, j := range run {
		p.d.jobs <- j // never blocks: inflight <= workers = cap(jobs)
	}
	if len(back) > 0 {
		if _, err := p.pool.Exec(cctx, `UPDATE hookrig_sender_events SET lease_owner = NULL, lease_until = NULL, claim_n = NULL, claim_at = NULL
			WHERE seq = ANY($1) AND lease_owner = $2`, back, p.instance); err != nil {
			p.s.logger.Error("giving back claimed events", "err", err)
		}
	}
	// Candidates chosen but none taken: another instance locked them
	// (skipped) or settled them since they were read. (Some taken: the
	// workers' outcomes wake the loop soon enough.)
	lost = len(jobs) == 0 && chosen > 0
	dueNow = lost // if the loop stops retrying at once
	if len(jobs) == 0 && chosen == 0 {
		// Nothing to take: look again when the next event is due, or,
		// when some are due already (they wait behind their lane's head,
		// or another instance holds their endpoint's lane), soon (see
		// loop). ORDER BY ... LIMIT 1, not min(): the due index gives
		// the first at once, where min() read every waiting event
		// (5,000-12,000 on a fresh table, 20-30 ms a call).
		var at int64
		err := p.pool.QueryRow(cctx, `SELECT next_at FROM hookrig_sender_events
			WHERE state = 0 AND lease_owner IS NULL AND NOT (endpoint = ANY($1::text[]))
			ORDER BY next_at, seq LIMIT 1`, blocked).Scan(&at)
		if err == nil {
			due := fromUnixNano(at)
			if !due.After(now) {
				dueNow = true
			} else {
				earliest(due)
			}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			p.s.logger.Error("looking for the next due event", "err", err)
		}
	}
	return next, dueNow, lost
}

// work runs attempts until quit closes.
func (p *pgStore) work(ctx context.Context) {
	for {
		select {
		case <-p.s.quit:
			return
		case j := <-p.d.jobs:
			o, a := p.d.send(ctx, j)
			// An attempt cut short by the sender stopping has no outcome.
			cancelled := ctx.Err() != nil && o.Err != delivery.ErrNone && o.Err != delivery.ErrTimeout
			p.finish(j, o, a, cancelled)
		}
	}
}

// finish decides what follows an attempt (delivery.Settle) and records it
// if this instance still holds the event's lease. The outcome joins the
// outcome group (commitOutcomes): the worker goes on to its next attempt
// while the outcome is written, and what follows the record (the
// report, the lease forgotten) happens once it is committed.
func (p *pgStore) finish(j *job, o delivery.Outcome, a attemptRecord, cancelled bool) {
	it, ep := j.it, j.it.ep
	p.d.mu.Lock()
	p.d.release(ep)
	if cancelled {
		p.d.mu.Unlock()
		p.forget(j)
		return // the lease stays; whoever takes it over reports the attempt
	}
	now := p.s.clock.Now()
	es := ep.state()
	st := it.st // the event keeps its state until the outcome is durable
	dec := delivery.Settle(&es, &st, o, now, p.d.jitter, it.id)
	ep.setState(es)
	p.d.mu.Unlock()
	defer p.d.poke() // a worker is free

	rec := &pgOutcome{seq: int64(it.seq), n: int32(j.n), attempts: int32(st.Attempts), a: a}
	rec.code = codePending
	switch dec.Kind {
	case delivery.Delivered:
		rec.code, rec.finalAt = codeDelivered, now.UnixNano()
	case delivery.RetryAt:
		rec.nextAt = dec.At.UnixNano()
	default:
		rec.code, rec.finalAt, rec.reason = codeDeadLettered, now.UnixNano(), dec.Reason
	}
	rec.done = func(held bool, err error) {
		defer p.forget(j)
		switch {
		case errors.Is(err, ErrCrashed):
			return // as kill -9: the lease stays, the attempt is reported by whoever takes it over
		case err != nil:
			// The lease stays until it expires: the attempt is then
			// reported as interrupted and retried, by this instance or
			// another.
			p.s.logger.Error("recording an attempt", "event", it.id, "err", err)
			return
		case !held:
			p.s.logger.Warn("attempt outcome not recorded: its lease expired and another instance reported it as interrupted",
				"event", it.id, "attempt", j.n, "outcome", o.String())
			return
		}
		p.d.mu.Lock()
		it.st, it.total = st, j.n
		p.d.mu.Unlock()
		switch dec.Kind {
		case delivery.DeadLetter:
			p.s.logger.Warn("event dead-lettered", "event", it.id, "endpoint", ep.id, "reason", dec.Reason)
		case delivery.DisableEndpoint:
			p.s.logger.Warn("endpoint disabled", "endpoint", ep.id, "event", it.id, "reason", dec.Reason)
		}
		p.d.report(it, &a, dec)
	}
	if dec.Kind == delivery.DisableEndpoint {
		// A 410, rare: the endpoint is disabled and what waits for it
		// dead-lettered in the outcome's own transaction.
		rec.done(p.recordGone(rec, ep.id, now))
		return
	}
	if err := p.outcomes.submit(rec); err != nil {
		rec.done(false, err)
	}
}

// forget drops an attempt's claim once its outcome is recorded (or left
// for whoever takes the lease over): its lease is no longer renewed.
func (p *pgStore) forget(j *job) {
	p.mu.Lock()
	if p.claims[j.it.seq] == j.n { // not a later claim of the same event
		delete(p.claims, j.it.seq)
	}
	p.mu.Unlock()
}

// pgOutcome is an attempt's outcome waiting in the outcome group: the
// event's new state and the attempt, and what follows once it is
// written (held: this instance still held the lease, so it was).
type pgOutcome struct {
	seq, nextAt, finalAt int64
	n, attempts          int32
	code                 stateCode
	reason               string
	a                    attemptRecord
	done                 func(held bool, err error)
}

// pgOutcomeWriters is how many outcome groups an instance may have in
// flight at once.
const pgOutcomeWriters = 2

// pgOutcomeRows bounds the outcomes one group writes.
const pgOutcomeRows = 1000

// pgRecordOutcomes writes outcomes in one statement: each event's state
// and its attempt, each guarded by its lease (this instance, this
// attempt's number, checked again on the locked row). The events are
// not locked first: nothing that waits for a lock holds one of them in
// another order (renew skips what is locked, claims and takeovers skip
// locked rows, another outcome group of this instance has other
// events), and a lock first cost a WAL record and a tuple lock per
// event. It returns the events whose outcome was written.
const pgRecordOutcomes = `WITH o AS (
		SELECT * FROM unnest($2::bigint[], $3::int[], $4::smallint[], $5::int[], $6::bigint[], $7::bigint[], $8::text[],
			$9::bigint[], $10::bigint[], $11::int[], $12::text[], $13::text[])
			AS o(seq, n, state, attempts, next_at, final_at, reason, at, duration, status, err, detail)),
	u AS (
		UPDATE hookrig_sender_events e SET state = o.state, attempts = o.attempts, total = o.n, next_at = o.next_at,
			final_at = o.final_at, reason = o.reason, lease_owner = NULL, lease_until = NULL, claim_n = NULL, claim_at = NULL
		FROM o
		WHERE e.seq = o.seq AND e.lease_owner = $1 AND e.claim_n = o.n
		RETURNING e.seq, o.n),
	a AS (
		INSERT INTO hookrig_sender_attempts (seq, n, instance, at, duration, status, err, detail)
		SELECT o.seq, o.n, $1, o.at, o.duration, o.status, o.err, o.detail FROM o JOIN u ON u.seq = o.seq AND u.n = o.n)
	SELECT seq, n FROM u`

// commitOutcomes writes a group of outcomes in one transaction and
// answers each: written, or not held (another instance took the lease
// over), or the error that failed the group (every lease then stays
// until it expires: the attempts are reported as interrupted).
func (p *pgStore) commitOutcomes(group []*pgOutcome) {
	n := len(group)
	seqs, ns, codes, attempts := make([]int64, n), make([]int32, n), make([]int16, n), make([]int32, n)
	nextAt, finalAt, at, duration := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	reasons, errs, details, status := make([]string, n), make([]string, n), make([]string, n), make([]int32, n)
	for i, o := range group {
		seqs[i], ns[i], codes[i], attempts[i] = o.seq, o.n, int16(o.code), o.attempts
		nextAt[i], finalAt[i], at[i], duration[i] = o.nextAt, o.finalAt, o.a.At, o.a.Duration
		reasons[i], errs[i], details[i], status[i] = o.reason, o.a.Err, o.a.Detail, int32(o.a.Status)
	}
	type key struct {
		seq int64
		n   int32
	}
	written := map[key]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rows, err := p.pool.Query(ctx, pgRecordOutcomes, p.instance, seqs, ns, codes, attempts, nextAt, finalAt, reasons,
		at, duration, status, errs, details)
	if err == nil {
		for rows.Next() {
			var k key
			if err = rows.Scan(&k.seq, &k.n); err != nil {
				break
			}
			written[k] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err == nil {
		p.d.poke() // lanes whose head was recorded may go on
	}
	for _, o := range group {
		o.done(written[key{o.seq, o.n}], err)
	}
}

// recordGone records a 410's outcome, disables the endpoint and
// dead-letters what waits for it, in one transaction.
func (p *pgStore) recordGone(o *pgOutcome, endpoint string, now time.Time) (held bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, pgRecordOutcomes, p.instance, []int64{o.seq}, []int32{o.n}, []int16{int16(o.code)},
			[]int32{o.attempts}, []int64{o.nextAt}, []int64{o.finalAt}, []string{o.reason}, []int64{o.a.At},
			[]int64{o.a.Duration}, []int32{int32(o.a.Status)}, []string{o.a.Err}, []string{o.a.Detail})
		if err != nil {
			return err
		}
		held = false
		for rows.Next() {
			held = true
		}
		if err := rows.Err(); err != nil || !held {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hookrig_sender_endpoints SET disabled = true, disabled_reason = $2, disabled_at = $3
			WHERE id = $1 AND NOT disabled`, endpoint, delivery.GoneReason, now.UnixNano()); err != nil {
			return err
		}
		return deadLetterWaiting(ctx, tx, endpoint, delivery.GoneReason, now)
	})
	return held, err
}

// keep renews this instance's leases, takes over expired ones, sweeps
// events waiting for a disabled endpoint and re-reads the endpoints, a
// third of a lease apart, until ctx ends.
func (p *pgStore) keep(ctx context.Context) {
	every := p.lease / 3
	for {
		t := p.s.clock.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		cctx, cancel := context.WithTimeout(ctx, pgTimeout)
		if err := p.renew(cctx); err != nil && ctx.Err() == nil {
			p.s.logger.Error("renewing leases", "err", err)
		}
		if err := p.refreshEndpoints(cctx); err != nil && ctx.Err() == nil {
			p.s.logger.Error("reading endpoints", "err", err)
		}
		if n, err := p.reap(cctx); err != nil && ctx.Err() == nil {
			p.s.logger.Error("taking over expired leases", "err", err)
		} else if n > 0 {
			p.d.poke()
		}
		if err := p.sweep(cctx); err != nil && ctx.Err() == nil {
			p.s.logger.Error("dead-lettering events of disabled endpoints", "err", err)
		}
		cancel()
	}
}

// renew extends the leases of the attempts this instance runs.
func (p *pgStore) renew(ctx context.Context) error {
	p.mu.Lock()
	seqs := make([]int64, 0, len(p.claims))
	for seq := range p.claims {
		seqs = append(seqs, int64(seq))
	}
	p.mu.Unlock()
	if len(seqs) == 0 {
		return nil
	}
	// What is locked is skipped: its outcome is being written (the lease
	// ends there), or it was taken over. Waiting for it while holding
	// others could deadlock with an outcome statement, which locks its
	// events in no particular order. A lease skipped is renewed at the
	// next turn, a third of a lease later, in time.
	_, err := p.pool.Exec(ctx, `WITH l AS (
			SELECT seq FROM hookrig_sender_events WHERE lease_owner = $2 AND seq = ANY($3) ORDER BY seq FOR UPDATE SKIP LOCKED)
		UPDATE hookrig_sender_events e SET lease_until = $1 FROM l WHERE e.seq = l.seq AND e.lease_owner = $2`,
		p.s.clock.Now().Add(p.lease).UnixNano(), p.instance, seqs)
	return err
}

// reap takes over expired leases: each was an attempt whose outcome
// nobody recorded, recorded now as interrupted under the name of the
// instance that made it, and decided by the policy (delivery.Recover) as
// the bbolt outbox does after a crash. It returns how many it took.
func (p *pgStore) reap(ctx context.Context) (int, error) {
	now := p.s.clock.Now()
	p.mu.Lock()
	mine := make([]int64, 0, len(p.claims))
	for seq := range p.claims {
		mine = append(mine, int64(seq))
	}
	p.mu.Unlock()
	var reports []AttemptReport
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		reports = nil
		rows, err := tx.Query(ctx, `SELECT seq, id, endpoint, key, attempts, since, claim_n, claim_at, lease_owner
			FROM hookrig_sender_events
			WHERE state = 0 AND lease_owner IS NOT NULL AND lease_until < $1 AND NOT (lease_owner = $2 AND seq = ANY($3))
			ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED`, now.UnixNano(), p.instance, mine, pgReapBatch)
		if err != nil {
			return err
		}
		type expired struct {
			seq               int64
			id, endpoint, key string
			owner             string
			attempts, n       int32
			since, claimedAt  int64
			ep                *endpointRT
		}
		var found []expired
		for rows.Next() {
			var e expired
			if err := rows.Scan(&e.seq, &e.id, &e.endpoint, &e.key, &e.attempts, &e.since, &e.n, &e.claimedAt, &e.owner); err != nil {
				rows.Close()
				return err
			}
			found = append(found, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range found {
			if found[i].ep, err = p.endpointRT(ctx, found[i].endpoint); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		p.d.mu.Lock()
		for _, e := range found {
			var es *delivery.Endpoint
			if e.ep != nil && !e.ep.gone {
				st := e.ep.state()
				es = &st
			}
			ds := delivery.DeliveryState{Attempts: int(e.attempts), FirstAt: fromUnixNano(e.since)}
			what, dec, ds := delivery.Recover(es, ds, true, now, p.d.jitter, e.id)
			code, nextAt, finalAt, reason := codePending, int64(0), int64(0), ""
			if what == delivery.Interrupted && dec.Kind == delivery.RetryAt {
				nextAt = dec.At.UnixNano()
			} else {
				// Dead-lettered: out of attempts, or its endpoint is
				// disabled or deleted (its attempt is still reported).
				code, finalAt, reason = codeDeadLettered, now.UnixNano(), dec.Reason
				if what == delivery.Orphan {
					dec.Kind = delivery.DeadLetter
				}
			}
			detail := fmt.Sprintf("%s (instance %s, lease expired)", interruptedDetail, e.owner)
			a := attemptRecord{N: uint32(e.n), At: e.claimedAt, Err: string(delivery.ErrInterrupted), Detail: detail}
			b.Queue(`INSERT INTO hookrig_sender_attempts (seq, n, instance, at, duration, status, err, detail)
				VALUES ($1, $2, $3, $4, 0, 0, $5, $6) ON CONFLICT (seq, n) DO NOTHING`, e.seq, e.n, e.owner, e.claimedAt, a.Err, a.Detail)
			b.Queue(`UPDATE hookrig_sender_events SET state = $2, attempts = $3, total = $4, next_at = $5, final_at = $6, reason = $7,
				lease_owner = NULL, lease_until = NULL, claim_n = NULL, claim_at = NULL WHERE seq = $1`,
				e.seq, int16(code), int32(ds.Attempts), e.n, nextAt, finalAt, reason)
			reports = append(reports, newReport(e.id, uint64(e.seq), e.endpoint, e.key, &a, dec))
		}
		p.d.mu.Unlock()
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, err
	}
	if len(reports) > 0 {
		p.s.logger.Warn("took over expired leases: attempts recorded as interrupted", "count", len(reports))
		p.s.metrics.interrupted(len(reports))
		if p.d.onAttempt != nil {
			for _, r := range reports {
				p.d.onAttempt(r)
			}
		}
	}
	return len(reports), nil
}

// sweep dead-letters events left pending for a disabled endpoint: an
// instance that had not yet heard of the disable may have scheduled a
// retry after the disabling transaction dead-lettered the rest.
func (p *pgStore) sweep(ctx context.Context) error {
	// Led by the disabled endpoints (usually none) through the waiting
	// index: joined the other way, a table not yet analyzed was read
	// whole, every waiting event (100-300 ms with 12,000 waiting).
	_, err := p.pool.Exec(ctx, `UPDATE hookrig_sender_events e SET state = 2, final_at = $1, next_at = 0,
			reason = (SELECT disabled_reason FROM hookrig_sender_endpoints WHERE id = e.endpoint)
		WHERE e.endpoint = ANY(ARRAY(SELECT id FROM hookrig_sender_endpoints WHERE disabled))
			AND e.state = 0 AND e.lease_owner IS NULL`, p.s.clock.Now().UnixNano())
	return err
}

// listen wakes the loop on every NOTIFY of new work until ctx ends; a
// lost connection is retried a second later (the loop polls meanwhile).
func (p *pgStore) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := p.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		p.s.logger.Warn("listening for new events; polling meanwhile", "err", err)
		t := p.s.clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
}

func (p *pgStore) listenOnce(ctx context.Context) error {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := c.Hijack() // held for the whole wait, not returned to the pool
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+pgChannel); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		p.d.poke()
	}
}
