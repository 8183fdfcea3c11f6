package sender

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookrig/hookrig/internal/pgschema"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// The outbox on PostgreSQL (Config.Store), shared by every instance given
// the same database:
//
//   - the events, their state and their attempts are rows; an event is
//     acknowledged once its transaction commits: concurrent requests
//     share one (group commit, pggroup.go), one multi-row INSERT;
//   - an instance claims due events with SELECT ... FOR UPDATE SKIP
//     LOCKED, setting a lease (lease_owner, lease_until) that it renews
//     while the attempts run (pgdispatch.go); an event is in flight on at
//     most one instance, the one holding its lease;
//   - a lease that expires (its instance died or lost the database) makes
//     the event's attempt interrupted: whichever instance finds it first
//     records it so, under the name of the instance that made it, and the
//     policy decides what follows (delivery.Recover, as the bbolt outbox
//     does after a crash); the retry may be a duplicate, and is reported;
//   - an ordered lane (endpoint and key) has one head across instances:
//     an event is claimable only when no earlier event of its lane is
//     pending (in flight included); ingests of an ordered endpoint take
//     an advisory lock of the endpoint, so that lane order is commit order;
//   - a 410 or a delete disables the endpoint in its row: every instance
//     stops claiming for it at once, and dead letters are rows every
//     instance reads;
//   - the breaker, the window, pauses and rates (delivery.Admit) are per
//     instance, in memory: shared, they would cost a database round trip
//     per attempt. The cost: N instances may send N times an endpoint's
//     concurrency and rate limit, and each instance learns an endpoint
//     is down (opens its breaker) on its own.
//
// New events wake idle instances with NOTIFY; an instance also looks for
// due work every pgPollInterval, which is how it finds retries that
// another instance scheduled and leases that expired.

//go:embed migrations/*.sql
var pgMigrations embed.FS

// pgComponent names the sender's schema in hookrig_schema_version.
const pgComponent = "sender-outbox"

// pgChannel is the LISTEN/NOTIFY channel that announces new work.
const pgChannel = "hookrig_sender"

// pgTimeout bounds each database call of an API request or a dispatcher
// step: a database that does not answer is an error, not a hang.
const pgTimeout = 10 * time.Second

// pgPollInterval is the longest an idle instance waits before looking for
// due work that nobody announced (retries scheduled elsewhere).
const pgPollInterval = time.Second

// pgReapBatch bounds the expired leases one transaction takes over.
const pgReapBatch = 500

// interruptedDetail says what an interrupted attempt's outcome is.
const interruptedDetail = "in flight when the sender stopped: outcome unknown, the endpoint may have received it"

// pgStore is the Sender on PostgreSQL. d is used for its per-instance
// state only (endpoints with breaker and flow, attempts in flight,
// jitter), all under d.mu; the schedule is in the database.
type pgStore struct {
	s        *Sender
	d        *dispatcher
	pool     *pgxpool.Pool
	instance string
	lease    time.Duration

	mu        sync.Mutex
	claims    map[uint64]uint32 // events this instance holds a lease on: seq -> webhook-attempt
	closed    *counters         // the counts when the store closed, for Stats after Close
	counted   counters          // the counts as last read, at countedAt
	countedAt time.Time
	notify    chan struct{} // announce asks the notifier for a NOTIFY

	ingests  *pgGroup[*pgIngest]  // ingest requests, written in groups (group commit)
	outcomes *pgGroup[*pgOutcome] // attempts' outcomes, written in groups

	// The lifecycle (started, loopDone, quit, workers...) is the Sender's.
}

// openPG opens a Sender on cfg.Store.
func openPG(cfg Config) (*Sender, error) {
	if cfg.DataDir != "" {
		return nil, errors.New("give a data directory (bbolt) or a PostgreSQL store, not both")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Instance == "" {
		cfg.Instance = newID("in_", cfg.Clock.Now())
	}
	pcfg, err := pgxpool.ParseConfig(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("store: bad PostgreSQL DSN (want postgres://user@host:port/db): %v", err)
	}
	if !strings.Contains(cfg.Store, "pool_max_conns") {
		// Concurrent commits share the WAL's flushes: a few more
		// connections than the default (the CPU count) let ingests and
		// outcomes group, without exhausting the server's connections
		// when several instances share it.
		pcfg.MaxConns = int32(min(16, cfg.Workers+4))
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("store: %v", err)
	}
	if err := pgschema.Migrate(ctx, pool, pgMigrations, "migrations", pgComponent); err != nil {
		pool.Close()
		var ne *pgschema.NewerError
		if errors.As(err, &ne) {
			return nil, fmt.Errorf("store: %w", err)
		}
		// pgx reports a failed connection one line per address tried.
		return nil, fmt.Errorf("store: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	s := &Sender{cfg: cfg, clock: cfg.Clock, logger: cfg.Logger.With("instance", cfg.Instance)}
	s.d = newDispatcher(cfg.Clock, delivery.NewJitter(cfg.Seed), cfg.Workers, newClient(cfg.Transport), s.logger, nil)
	s.d.onAttempt = cfg.OnAttempt
	p := &pgStore{s: s, d: s.d, pool: pool, instance: cfg.Instance, lease: cfg.Lease, claims: map[uint64]uint32{}, notify: make(chan struct{}, 1)}
	p.ingests = newPGGroup(pgIngestWriters, pgIngestRows, func(in *pgIngest) int { return len(in.ids) },
		p.commitIngests, func(in *pgIngest, err error) { in.done <- err })
	p.outcomes = newPGGroup(pgOutcomeWriters, pgOutcomeRows, func(*pgOutcome) int { return 1 },
		p.commitOutcomes, func(o *pgOutcome, err error) { o.done(false, err) })
	s.store = p
	s.metrics = newMetrics(s)
	s.d.metrics = s.metrics
	if err := p.refreshEndpoints(ctx); err != nil {
		p.ingests.stop(ErrClosed)
		p.outcomes.stop(ErrClosed)
		pool.Close()
		return nil, fmt.Errorf("store: reading endpoints: %v", err)
	}
	s.handler = s.routes()
	return s, nil
}

// dbError gives a database error a message for an API caller.
func (p *pgStore) dbError(err error) error {
	if err == nil || ErrorCode(err) != EINTERNAL {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errorf(EUNAVAILABLE, "the outbox's database did not answer within %v; retry later", pgTimeout)
	}
	return fmt.Errorf("outbox database: %w", err)
}

// --- endpoints ---

const pgEndpointCols = `record, disabled, disabled_reason, disabled_at`

func scanEndpoint(row pgx.Row) (*Endpoint, error) {
	var raw string
	var disabledAt int64
	var rec Endpoint
	rec.Policy = delivery.DefaultPolicy()
	var disabled bool
	var reason string
	if err := row.Scan(&raw, &disabled, &reason, &disabledAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return nil, fmt.Errorf("%w: endpoint: %v", errCorrupt, err)
	}
	rec.Disabled, rec.DisabledReason = disabled, reason
	if disabledAt != 0 {
		rec.DisabledAt = fromUnixNano(disabledAt)
	}
	return &rec, nil
}

func (p *pgStore) createEndpoint(spec EndpointSpec) (Endpoint, error) {
	rec, rt, err := p.s.newEndpoint(spec)
	if err != nil {
		return Endpoint{}, err
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return Endpoint{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	if _, err := p.pool.Exec(ctx, `INSERT INTO hookrig_sender_endpoints (id, record) VALUES ($1, $2)`, rec.ID, string(raw)); err != nil {
		return Endpoint{}, p.dbError(err)
	}
	p.d.mu.Lock()
	p.d.endpoints[rec.ID] = rt
	p.d.mu.Unlock()
	return *rec, nil
}

func (p *pgStore) endpoint(id string) (Endpoint, error) {
	if err := p.s.usable(); err != nil {
		return Endpoint{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rec, err := scanEndpoint(p.pool.QueryRow(ctx, `SELECT `+pgEndpointCols+` FROM hookrig_sender_endpoints WHERE id = $1 AND NOT deleted`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, notFound("no endpoint %q", id)
	}
	if err != nil {
		return Endpoint{}, p.dbError(err)
	}
	return *rec, nil
}

func (p *pgStore) endpoints() ([]Endpoint, error) {
	if err := p.s.usable(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rows, err := p.pool.Query(ctx, `SELECT `+pgEndpointCols+` FROM hookrig_sender_endpoints WHERE NOT deleted ORDER BY id`)
	if err != nil {
		return nil, p.dbError(err)
	}
	out := []Endpoint{}
	for rows.Next() {
		rec, err := scanEndpoint(rows)
		if err != nil {
			rows.Close()
			return nil, p.dbError(err)
		}
		out = append(out, *rec)
	}
	return out, p.dbError(rows.Err())
}

// deadLetterWaiting dead-letters the pending events of an endpoint that
// are not in flight (those finish first and see why), as part of tx.
func deadLetterWaiting(ctx context.Context, tx pgx.Tx, endpoint, reason string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE hookrig_sender_events SET state = 2, reason = $2, final_at = $3, next_at = 0
		WHERE endpoint = $1 AND state = 0 AND lease_owner IS NULL`, endpoint, reason, now.UnixNano())
	return err
}

func (p *pgStore) deleteEndpoint(id string) error {
	if err := p.s.usable(); err != nil {
		return err
	}
	const reason = "endpoint deleted"
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	now := p.s.clock.Now()
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE hookrig_sender_endpoints SET deleted = true, disabled = true, disabled_reason = $2, disabled_at = $3
			WHERE id = $1 AND NOT deleted`, id, reason, now.UnixNano())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("no endpoint %q", id)
		}
		return deadLetterWaiting(ctx, tx, id, reason, now)
	})
	if err != nil {
		return p.dbError(err)
	}
	p.d.mu.Lock()
	if ep := p.d.endpoints[id]; ep != nil {
		ep.disabled, ep.gone, ep.reason = true, true, reason
		if ep.inflight == 0 {
			delete(p.d.endpoints, id) // one in flight goes when the endpoints are next read
		}
	}
	p.d.mu.Unlock()
	return nil
}

func (p *pgStore) enableEndpoint(id string) (Endpoint, error) {
	if err := p.s.usable(); err != nil {
		return Endpoint{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rec, err := scanEndpoint(p.pool.QueryRow(ctx, `UPDATE hookrig_sender_endpoints SET disabled = false, disabled_reason = '', disabled_at = 0
		WHERE id = $1 AND NOT deleted RETURNING `+pgEndpointCols, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, notFound("no endpoint %q", id)
	}
	if err != nil {
		return Endpoint{}, p.dbError(err)
	}
	p.d.mu.Lock()
	if ep := p.d.endpoints[id]; ep != nil {
		ep.disabled, ep.reason, ep.breaker = false, "", delivery.BreakerState{}
	}
	p.d.mu.Unlock()
	p.announce()
	return *rec, nil
}

// endpointRT returns this instance's view of an endpoint, reading it
// from the database when another instance created it.
func (p *pgStore) endpointRT(ctx context.Context, id string) (*endpointRT, error) {
	p.d.mu.Lock()
	ep := p.d.endpoints[id]
	p.d.mu.Unlock()
	if ep != nil {
		return ep, nil
	}
	rec, err := scanEndpoint(p.pool.QueryRow(ctx, `SELECT `+pgEndpointCols+` FROM hookrig_sender_endpoints WHERE id = $1 AND NOT deleted`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return p.learn(rec, false)
}

// learn keeps an endpoint read from the database in this instance's
// view: its disabled state is the database's; breaker and flow stay.
func (p *pgStore) learn(rec *Endpoint, deleted bool) (*endpointRT, error) {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	ep := p.d.endpoints[rec.ID]
	if ep == nil {
		if deleted {
			return nil, nil
		}
		rt, err := newEndpointRT(rec)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", rec.ID, err)
		}
		p.d.endpoints[rec.ID], ep = rt, rt
	}
	if ep.disabled && !rec.Disabled {
		ep.breaker = delivery.BreakerState{} // enabled again, as EnableEndpoint does
	}
	ep.disabled, ep.reason, ep.gone = rec.Disabled, rec.DisabledReason, deleted
	if deleted && ep.inflight == 0 {
		delete(p.d.endpoints, rec.ID)
	}
	return ep, nil
}

// refreshEndpoints reads every endpoint: those other instances created,
// disabled, enabled or deleted.
func (p *pgStore) refreshEndpoints(ctx context.Context) error {
	rows, err := p.pool.Query(ctx, `SELECT `+pgEndpointCols+`, deleted FROM hookrig_sender_endpoints`)
	if err != nil {
		return err
	}
	type seen struct {
		rec     *Endpoint
		deleted bool
	}
	var all []seen
	for rows.Next() {
		var raw, reason string
		var disabled, deleted bool
		var disabledAt int64
		if err := rows.Scan(&raw, &disabled, &reason, &disabledAt, &deleted); err != nil {
			rows.Close()
			return err
		}
		rec := Endpoint{Policy: delivery.DefaultPolicy()}
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			rows.Close()
			return fmt.Errorf("%w: endpoint: %v", errCorrupt, err)
		}
		rec.Disabled, rec.DisabledReason = disabled, reason
		all = append(all, seen{&rec, deleted})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range all {
		if _, err := p.learn(e.rec, e.deleted); err != nil {
			return err
		}
	}
	return nil
}

// --- events ---

// pgIngest is one ingest request waiting in the ingest group: its events
// as the columns of hookrig_sender_events, and where its answer goes.
type pgIngest struct {
	where                       func(i int) string
	ids, endpoints, types, keys []string
	payloads                    [][]byte
	lanes                       []*string // the key of an ordered endpoint's event, else nil
	nextAt                      []int64
	acceptedAt                  int64
	madeIDs                     bool  // every id was made by this sender (none given by the client)
	refused                     error // set by the group: this request's endpoints do not take events
	done                        chan error
}

func (p *pgStore) enqueue(specs []EventSpec, batch bool) ([]string, error) {
	if err := p.s.usable(); err != nil {
		return nil, err
	}
	in, err := p.prepareIngest(specs, batch)
	if err != nil {
		return nil, err
	}
	if len(in.ids) >= pgGroupAlone {
		// A large request shares little by joining a group (its commit
		// is already spread over its events) and would wait for the
		// writers: it is its own transaction, run at once, so that
		// concurrent batches commit in parallel. Measured (batches of 100,
		// 8 clients, alternating, load average 5-6): 17,361 and 12,207
		// events/s grouped, against 21,098 and 18,630 alone.
		p.commitAlone(in)
	} else if err := p.ingests.submit(in); err != nil {
		return nil, p.s.stopped(err)
	}
	if err := <-in.done; err != nil {
		return nil, p.s.stopped(p.dbError(err))
	}
	return in.ids, nil
}

// prepareIngest checks a request's events and gives them ids and due
// times: what can be decided before the database.
func (p *pgStore) prepareIngest(specs []EventSpec, batch bool) (*pgIngest, error) {
	where := whereIn(batch)
	if err := checkBatchSize(len(specs)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	now := p.s.clock.Now()
	n := len(specs)
	in := &pgIngest{where: where, acceptedAt: now.UnixNano(), done: make(chan error, 1),
		ids: make([]string, n), endpoints: make([]string, n), types: make([]string, n), keys: make([]string, n),
		payloads: make([][]byte, n), lanes: make([]*string, n), nextAt: make([]int64, n), madeIDs: true}
	for i := range specs {
		e := &specs[i]
		if err := checkEvent(e); err != nil {
			return nil, invalid("%s%v", where(i), err)
		}
		ep, err := p.endpointRT(ctx, e.Endpoint)
		if err != nil {
			return nil, p.dbError(err)
		}
		if ep == nil || ep.gone {
			return nil, invalid("%sendpoint: no endpoint %q", where(i), e.Endpoint)
		}
		id := e.ID
		if id == "" {
			id = newID("msg_", now)
		} else {
			in.madeIDs = false
		}
		in.ids[i], in.endpoints[i], in.types[i], in.keys[i], in.payloads[i] = id, e.Endpoint, e.Type, e.Key, e.Payload
		p.d.mu.Lock()
		in.nextAt[i] = delivery.FirstDue(ep.policy, now, p.d.jitter, id).UnixNano()
		p.d.mu.Unlock()
		if ep.policy.Ordered && e.Key != "" {
			in.lanes[i] = &in.keys[i]
		}
	}
	return in, nil
}

// pgIngestWriters is how many ingest groups an instance may have in
// flight at once.
const pgIngestWriters = 2

// pgIngestRows bounds the events one ingest group writes.
const pgIngestRows = 2 * MaxBatch

// pgGroupAlone is the size from which an ingest request is its own
// transaction rather than a group's share.
const pgGroupAlone = 32

// commitIngests writes a group of ingest requests in one transaction and
// answers each. A request whose endpoints do not all take events is
// refused alone (its events are left out, the others written). When the
// database refuses the group's data, each request is tried alone, so
// that one bad request cannot fail its neighbours (as the bbolt outbox
// does); any other failure (the database unreachable, no answer in
// time) fails every request of the group: none is acknowledged.
func (p *pgStore) commitIngests(group []*pgIngest) {
	err := p.writeIngests(group)
	var pgErr *pgconn.PgError
	if err != nil && len(group) > 1 && errors.As(err, &pgErr) {
		for _, in := range group {
			p.commitIngests([]*pgIngest{in})
		}
		return
	}
	if err == nil {
		p.announce()
	}
	for _, in := range group {
		switch {
		case err != nil:
			in.done <- err
		default:
			in.done <- in.refused
		}
	}
}

// writeIngests is one transaction, sent in one round trip (pgx sends a
// batch with one Sync): the endpoints read, and the events of the
// requests whose endpoints all take events inserted, in one statement,
// so that what is answered and what is written agree. An id already
// accepted, by an earlier request or earlier in the group, is not
// inserted again (ON CONFLICT DO NOTHING), exactly as one request after
// another would have it. No row lock on the endpoints: shared locks on
// one hot row would make every ingest write a multixact. An ingest
// racing a disable may add events the disable did not see; the
// instances' sweep dead-letters them. A group with events of ordered
// endpoints first takes those endpoints' advisory locks, so that a
// lane's order is its commit order (and, within the group, the order in
// which the requests were queued).
func (p *pgStore) writeIngests(group []*pgIngest) error {
	var ids, endpoints, types, keys []string
	var payloads [][]byte
	var lanes []*string
	var nextAt, acceptedAt []int64
	var req []int32
	var named, ordered []string // the endpoints, each once
	for k, in := range group {
		in.refused = nil
		ids, endpoints, types, keys = append(ids, in.ids...), append(endpoints, in.endpoints...), append(types, in.types...), append(keys, in.keys...)
		payloads, lanes, nextAt = append(payloads, in.payloads...), append(lanes, in.lanes...), append(nextAt, in.nextAt...)
		for i, ep := range in.endpoints {
			acceptedAt, req = append(acceptedAt, in.acceptedAt), append(req, int32(k))
			if !slices.Contains(named, ep) {
				named = append(named, ep)
			}
			if in.lanes[i] != nil && !slices.Contains(ordered, ep) {
				ordered = append(ordered, ep)
			}
		}
	}
	slices.Sort(ordered)
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	b := &pgx.Batch{}
	if len(ordered) > 0 {
		b.Queue(`SELECT pg_advisory_xact_lock(hashtext('hookrig_sender_lanes'), hashtext(id)) FROM unnest($1::text[]) AS id ORDER BY id`, ordered)
	}
	b.Queue(`WITH ep AS (
			SELECT id, disabled, disabled_reason, deleted FROM hookrig_sender_endpoints WHERE id = ANY($9)),
		refused AS (
			SELECT DISTINCT t.req FROM unnest($10::int[], $2::text[]) AS t(req, endpoint)
			WHERE NOT EXISTS (SELECT 1 FROM ep WHERE ep.id = t.endpoint AND NOT ep.disabled AND NOT ep.deleted)),
		ins AS (
			INSERT INTO hookrig_sender_events (id, endpoint, type, key, lane, payload, accepted_at, since, next_at)
			SELECT id, endpoint, type, key, lane, payload, accepted_at, accepted_at, next_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bigint[], $8::bigint[], $10::int[])
				AS t(id, endpoint, type, key, lane, payload, accepted_at, next_at, req)
			WHERE t.req NOT IN (SELECT req FROM refused)
			ON CONFLICT (id) DO NOTHING)
		SELECT id, disabled, disabled_reason, deleted FROM ep`,
		ids, endpoints, types, keys, lanes, payloads, acceptedAt, nextAt, named, req)
	br := p.pool.SendBatch(ctx, b)
	defer br.Close()
	if len(ordered) > 0 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	found, err := scanEndpointStates(rows)
	if err != nil {
		return err
	}
	if err := br.Close(); err != nil { // the commit
		return err
	}
	for _, in := range group {
		in.refused = in.refusal(found)
	}
	return nil
}

// pgEndpointState is what an ingest reads of an endpoint.
type pgEndpointState struct {
	disabled, deleted bool
	reason            string
}

// scanEndpointStates reads rows of (id, disabled, disabled_reason,
// deleted).
func scanEndpointStates(rows pgx.Rows) (map[string]pgEndpointState, error) {
	defer rows.Close()
	found := map[string]pgEndpointState{}
	for rows.Next() {
		var id string
		var st pgEndpointState
		if err := rows.Scan(&id, &st.disabled, &st.reason, &st.deleted); err != nil {
			return nil, err
		}
		found[id] = st
	}
	return found, rows.Err()
}

// refusal says why the request's endpoints, as read in its transaction
// (found), do not take its events; nil when they all do.
func (in *pgIngest) refusal(found map[string]pgEndpointState) error {
	for i, ep := range in.endpoints {
		st, ok := found[ep]
		if !ok || st.deleted {
			return invalid("%sendpoint: no endpoint %q", in.where(i), ep)
		}
		if st.disabled {
			return conflict("%sendpoint: %q is disabled (%s); enable it with POST /v1/endpoints/%s/enable", in.where(i), ep, st.reason, ep)
		}
	}
	return nil
}

// commitAlone writes a large request in its own transaction. When every
// id is the sender's own (none can be taken already) and no event is
// in an ordered lane, its events are written with COPY: PostgreSQL then
// fills each heap page in one go (one WAL record a page, not one a row)
// and there is no speculative insertion (ON CONFLICT), the two costs a
// batch's INSERT paid per row. Anything else, and a COPY that fails on
// the data (an id taken after all, a key the database refuses), takes
// the one-statement path (writeIngests), which decides as one by one.
func (p *pgStore) commitAlone(in *pgIngest) {
	if in.madeIDs && !slices.ContainsFunc(in.lanes, func(l *string) bool { return l != nil }) {
		err := p.copyIngest(in)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			if err == nil && in.refused == nil {
				p.announce()
			}
			if err == nil {
				err = in.refused
			}
			in.done <- err
			return
		}
	}
	p.commitIngests([]*pgIngest{in})
}

// copyIngest is commitAlone's COPY: the endpoints read and the events
// copied in one transaction (nothing written when the endpoints refuse).
func (p *pgStore) copyIngest(in *pgIngest) error {
	var named []string
	for _, ep := range in.endpoints {
		if !slices.Contains(named, ep) {
			named = append(named, ep)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		in.refused = nil
		rows, err := tx.Query(ctx, `SELECT id, disabled, disabled_reason, deleted FROM hookrig_sender_endpoints WHERE id = ANY($1)`, named)
		if err != nil {
			return err
		}
		found, err := scanEndpointStates(rows)
		if err != nil {
			return err
		}
		if in.refused = in.refusal(found); in.refused != nil {
			return nil
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"hookrig_sender_events"},
			[]string{"id", "endpoint", "type", "key", "payload", "accepted_at", "since", "next_at"},
			pgx.CopyFromSlice(len(in.ids), func(i int) ([]any, error) {
				return []any{in.ids[i], in.endpoints[i], in.types[i], in.keys[i], in.payloads[i], in.acceptedAt, in.acceptedAt, in.nextAt[i]}, nil
			}))
		return err
	})
}

// announce wakes this instance's dispatcher and, through NOTIFY, the
// idle others. The NOTIFY is its own statement, at most one per
// notifyEvery per instance: PostgreSQL serialises the commits of
// transactions that notify, so a NOTIFY inside every ingest would cost
// the group commit that concurrent ingests otherwise share.
func (p *pgStore) announce() {
	p.d.poke()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// notifyEvery bounds how often one instance sends NOTIFY.
const notifyEvery = 5 * time.Millisecond

// notifier sends the NOTIFYs announce asks for until ctx ends.
func (p *pgStore) notifier(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.notify:
		}
		cctx, cancel := context.WithTimeout(ctx, pgTimeout)
		if _, err := p.pool.Exec(cctx, `SELECT pg_notify($1, '')`, pgChannel); err != nil && ctx.Err() == nil {
			p.s.logger.Warn("announcing new events; other instances find them by polling", "err", err)
		}
		cancel()
		t := p.s.clock.NewTimer(notifyEvery)
		select {
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
}

// pgEventCols are an event's columns as scanEvent reads them.
const pgEventCols = `seq, id, endpoint, type, key, payload, accepted_at, state, attempts, total, since, next_at, final_at, replays, reason`

func scanEvent(row pgx.Row) (uint64, eventRecord, stateRecord, error) {
	var seq int64
	var ev eventRecord
	var st stateRecord
	var code int16
	var attempts, total, replays int32
	err := row.Scan(&seq, &ev.ID, &ev.Endpoint, &ev.Type, &ev.Key, &ev.Payload, &ev.AcceptedAt,
		&code, &attempts, &total, &st.Since, &st.NextAt, &st.FinalAt, &replays, &st.Reason)
	st.Code, st.Attempts, st.Total, st.Replays = stateCode(code), uint32(attempts), uint32(total), uint32(replays)
	return uint64(seq), ev, st, err
}

// events reads the events a query selects (pgEventCols), with their
// attempts.
func (p *pgStore) events(ctx context.Context, query string, args ...any) ([]Event, error) {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	type row struct {
		seq uint64
		ev  eventRecord
		st  stateRecord
	}
	var found []row
	var seqs []int64
	for rows.Next() {
		seq, ev, st, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, row{seq, ev, st})
		seqs = append(seqs, int64(seq))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	attempts := map[uint64][]attemptRecord{}
	if len(seqs) > 0 {
		rows, err := p.pool.Query(ctx, `SELECT seq, n, at, duration, status, err, detail FROM hookrig_sender_attempts
			WHERE seq = ANY($1) ORDER BY seq, n`, seqs)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq int64
			var n, status int32
			var a attemptRecord
			if err := rows.Scan(&seq, &n, &a.At, &a.Duration, &status, &a.Err, &a.Detail); err != nil {
				rows.Close()
				return nil, err
			}
			a.N, a.Status = uint32(n), uint16(status)
			attempts[uint64(seq)] = append(attempts[uint64(seq)], a)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := []Event{}
	for i := range found {
		r := &found[i]
		if r.st.Total == 0 || r.st.Code != codePending {
			r.st.NextAt = 0 // as the bbolt outbox shows it: zero before the first attempt
		}
		out = append(out, newEvent(r.seq, &r.ev, &r.st, attempts[r.seq]))
	}
	return out, nil
}

func (p *pgStore) event(id string) (Event, error) {
	if err := p.s.usable(); err != nil {
		return Event{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	evs, err := p.events(ctx, `SELECT `+pgEventCols+` FROM hookrig_sender_events WHERE id = $1`, id)
	if err != nil {
		return Event{}, p.dbError(err)
	}
	if len(evs) == 0 {
		return Event{}, notFound("no event %q", id)
	}
	return evs[0], nil
}

func (p *pgStore) eventsPage(after uint64, limit int) ([]Event, error) {
	if err := p.s.usable(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	evs, err := p.events(ctx, `SELECT `+pgEventCols+` FROM hookrig_sender_events WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(after), limit)
	return evs, p.dbError(err)
}

func (p *pgStore) dlq(after uint64, limit int) ([]DLQEntry, error) {
	if err := p.s.usable(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rows, err := p.pool.Query(ctx, `SELECT seq, id, endpoint, type, key, reason, final_at, total FROM hookrig_sender_events
		WHERE state = 2 AND seq > $1 ORDER BY seq LIMIT $2`, int64(after), limit)
	if err != nil {
		return nil, p.dbError(err)
	}
	out := []DLQEntry{}
	for rows.Next() {
		var e DLQEntry
		var seq, at int64
		var total int32
		if err := rows.Scan(&seq, &e.ID, &e.Endpoint, &e.Type, &e.Key, &e.Reason, &at, &total); err != nil {
			rows.Close()
			return nil, p.dbError(err)
		}
		e.Seq, e.At, e.Attempts = uint64(seq), fromUnixNano(at), int(total)
		out = append(out, e)
	}
	return out, p.dbError(rows.Err())
}

func (p *pgStore) replay(ids []string) (Replayed, error) {
	if err := p.s.usable(); err != nil {
		return Replayed{}, err
	}
	all := len(ids) == 0
	now := p.s.clock.Now()
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	var res Replayed
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		res = Replayed{IDs: []string{}}
		q := `SELECT e.seq, e.id, e.endpoint, e.state, ep.id IS NULL OR ep.deleted, coalesce(ep.disabled, false), coalesce(ep.disabled_reason, '')
			FROM hookrig_sender_events e LEFT JOIN hookrig_sender_endpoints ep ON ep.id = e.endpoint
			WHERE e.state = 2 ORDER BY e.seq FOR UPDATE OF e`
		args := []any{}
		if !all {
			q = strings.Replace(q, `WHERE e.state = 2`, `WHERE e.id = ANY($1)`, 1)
			args = append(args, ids)
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		type cand struct {
			seq               int64
			id, endpoint, why string
			code              int16
		}
		var cands []cand
		byID := map[string]bool{}
		for rows.Next() {
			var c cand
			var gone, disabled bool
			var reason string
			if err := rows.Scan(&c.seq, &c.id, &c.endpoint, &c.code, &gone, &disabled, &reason); err != nil {
				rows.Close()
				return err
			}
			switch {
			case gone:
				c.why = fmt.Sprintf("endpoint %q was deleted", c.endpoint)
			case disabled:
				c.why = fmt.Sprintf("endpoint %q is disabled (%s); enable it first", c.endpoint, reason)
			}
			cands, byID[c.id] = append(cands, c), true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if !byID[id] {
				return notFound("no event %q", id)
			}
		}
		b := &pgx.Batch{}
		for _, c := range cands {
			if stateCode(c.code) != codeDeadLettered {
				return conflict("event %q is %s, not dead-lettered", c.id, stateCode(c.code))
			}
			if c.why != "" {
				if all {
					res.Skipped = append(res.Skipped, Skipped{ID: c.id, Reason: c.why})
					continue
				}
				return conflict("event %q: %s", c.id, c.why)
			}
			ep, err := p.endpointRT(ctx, c.endpoint)
			if err != nil || ep == nil {
				return fmt.Errorf("endpoint %q of event %q: %v", c.endpoint, c.id, err)
			}
			p.d.mu.Lock()
			due := delivery.FirstDue(ep.policy, now, p.d.jitter, c.id)
			p.d.mu.Unlock()
			b.Queue(`UPDATE hookrig_sender_events SET state = 0, attempts = 0, since = $2, next_at = $3, final_at = 0, reason = '',
				replays = replays + 1, ord = nextval('hookrig_sender_lane_order') WHERE seq = $1`, c.seq, now.UnixNano(), due.UnixNano())
			res.IDs = append(res.IDs, c.id)
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return Replayed{}, p.dbError(err)
	}
	p.announce()
	return res, nil
}

// counters reads the counts kept as the rows change (migration 002:
// statement triggers add each statement's deltas to a row per server
// process): every instance sees the same, exact as of the last commit.
func (p *pgStore) counters() counters {
	p.mu.Lock()
	closed, counted, at := p.closed, p.counted, p.countedAt
	p.mu.Unlock()
	if closed != nil {
		return *closed
	}
	// A few hundred small rows at most, but a client polling /v1/stats
	// in a tight loop still costs a round trip each: counts younger than
	// countsMaxAge are given again.
	now := p.s.clock.Now()
	if !at.IsZero() && now.Sub(at) < countsMaxAge {
		return counted
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	var c counters
	var accepted, delivered, dead, replayed, attempts, interrupted int64
	err := p.pool.QueryRow(ctx, `SELECT coalesce(sum(accepted), 0), coalesce(sum(delivered), 0), coalesce(sum(deadlettered), 0),
		coalesce(sum(replayed), 0), coalesce(sum(attempts), 0), coalesce(sum(interrupted), 0) FROM hookrig_sender_counts`).
		Scan(&accepted, &delivered, &dead, &replayed, &attempts, &interrupted)
	if err != nil {
		p.s.logger.Warn("reading the outbox's counts", "err", err)
		return c
	}
	c.Accepted, c.Delivered, c.DeadLettered = uint64(accepted), uint64(delivered), uint64(dead)
	c.Replayed, c.Attempts, c.Interrupted = uint64(replayed), uint64(attempts), uint64(interrupted)
	p.mu.Lock()
	p.counted, p.countedAt = c, now
	p.mu.Unlock()
	return c
}

// countsMaxAge is how old the counts in Stats may be on PostgreSQL.
const countsMaxAge = 100 * time.Millisecond

func (p *pgStore) stats() Stats {
	c := p.counters()
	st := Stats{
		Accepted: c.Accepted, Delivered: c.Delivered, DeadLettered: c.DeadLettered,
		Pending:  c.Accepted - c.Delivered - c.DeadLettered,
		Attempts: c.Attempts, Interrupted: c.Interrupted, Replayed: c.Replayed,
	}
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	st.InFlight = p.d.inflight
	p.d.countEndpoints(&st, p.s.clock.Now())
	return st
}

func (p *pgStore) flowOf(id string) (EndpointFlow, bool) { return p.d.flowOf(id) }
