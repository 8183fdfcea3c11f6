package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/pgtest"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Known-answer tests: scenarios whose faults are fully determined (by
// attempt number and event id, not by chance), so the counts are exact.
// Each sends 40 events (constant:40 for 1s) with retries 10-40 ms apart.

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func run(t *testing.T, s *scenarios.Scenario, opts live.Options) *verdict.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := sim.Run(ctx, s, opts)
	if err != nil {
		t.Fatalf("run %s: %v", s.Name, err)
	}
	return res
}

// Every event's first attempt gets a 503; the retry succeeds.
func TestKnownAnswerFirstAttempt503(t *testing.T) {
	s := simtest.Parse(t, "first-503", simtest.Quick+`
faults:
  - name: first-fails
    match: attempt == 1
    fault: {type: status, code: 503}
# keep_faults: a first attempt that a busy machine sends after the load's
# last second is still refused, so the known answer does not hang on the
# sender's lag (the rule only ever matches first attempts).
drain: {timeout: 20s, keep_faults: true}
assertions:
  - lost == 0
  - attempts.amplification == 2.0
`)
	res := run(t, s, live.Options{})
	e, a := res.Events, res.Attempts
	simtest.Want(t, res, map[string][2]int64{
		"accepted":          {e.Accepted, 40},
		"delivered":         {e.Delivered, 40},
		"lost":              {e.Lost, 0},
		"duplicated":        {e.Duplicated, 0},
		"dead_lettered":     {e.DeadLettered, 0},
		"pending":           {e.Pending, 0},
		"attempts.total":    {a.Total, 80},
		"attempts.failed":   {a.Failed, 40},
		"attempts.faulted":  {a.Faulted, 40},
		"per_event.max":     {a.PerEvent.Max, 2},
		"per_event.p50":     {a.PerEvent.P50, 2},
		"receipts.total":    {res.Receipts.Total, 40},
		"load.sent":         {res.Load.Sent, 40},
		"load.rejected":     {res.Load.Rejected, 0},
		"assertions failed": {int64(res.FailedAssertions()), 0},
	})
	if !res.Passed || res.Mode != verdict.ModeLive || res.Seed != 1 {
		t.Errorf("passed %v, mode %q, seed %d", res.Passed, res.Mode, res.Seed)
	}
}

// Exactly three acknowledgements are lost (the first attempts of three
// named events): exactly three duplicates, and the receiver's dedupe
// catches each.
func TestKnownAnswerLostAcks(t *testing.T) {
	s := simtest.Parse(t, "lost-acks", simtest.Quick+`
faults:
  - name: ack-lost
    match: attempt == 1 && event_id matches "_(3|17|29)$"
    fault: {type: ack_lost}
drain: {keep_faults: true} # as in TestKnownAnswerFirstAttempt503
`)
	res := run(t, s, live.Options{})
	e, a := res.Events, res.Attempts
	simtest.Want(t, res, map[string][2]int64{
		"accepted":              {e.Accepted, 40},
		"delivered":             {e.Delivered, 40},
		"lost":                  {e.Lost, 0},
		"duplicated":            {e.Duplicated, 3},
		"duplicate_deliveries":  {e.DuplicateDeliveries, 3},
		"receipts.deduplicated": {res.Receipts.Deduplicated, 3},
		"attempts.total":        {a.Total, 43},
		"attempts.faulted":      {a.Faulted, 3},
	})
	prefix := plan.EventIDPrefix(s.Seed)
	wantIDs := []string{prefix + "3", prefix + "17", prefix + "29"}
	if !slices.Equal(res.Examples.Duplicated, wantIDs) {
		t.Errorf("duplicated ids %v, want %v", res.Examples.Duplicated, wantIDs)
	}
}

// Every attempt fails: every event is dead-lettered after max_attempts,
// and a dead letter is a known loss, not a lost event.
func TestKnownAnswerDeadLetters(t *testing.T) {
	s := simtest.Parse(t, "all-503", strings.Replace(simtest.Quick, "max_attempts: 5", "max_attempts: 3", 1)+`
faults:
  - name: broken
    fault: {type: status, code: 503}
drain:
  timeout: 20s
  keep_faults: true
assertions:
  - lost == 0
  - dead_lettered == accepted
`)
	res := run(t, s, live.Options{})
	e, a := res.Events, res.Attempts
	simtest.Want(t, res, map[string][2]int64{
		"accepted":       {e.Accepted, 40},
		"delivered":      {e.Delivered, 0},
		"lost":           {e.Lost, 0},
		"dead_lettered":  {e.DeadLettered, 40},
		"attempts.total": {a.Total, 120},
		"receipts.total": {res.Receipts.Total, 0},
	})
	if res.FailedAssertions() != 0 || len(res.DeadLetterReasons) != 1 {
		t.Errorf("assertions %+v, reasons %+v", res.Assertions, res.DeadLetterReasons)
	}
	// The assertions hold, but a run that delivered nothing never passes.
	if fc := res.FailedRunChecks(); res.Passed || len(fc) != 1 || fc[0].Expr != "delivered > 0" {
		t.Errorf("passed %v with run checks %+v; want it failed on delivered > 0", res.Passed, res.RunChecks)
	}
}

// droppingEndpoint is a user's endpoint that answers 200 to every webhook
// but silently drops some: they never reach its journal. It is a real
// reference receiver behind a handler that swallows the dropped ids.
func droppingEndpoint(t *testing.T, drop map[string]bool) *httptest.Server {
	t.Helper()
	rcv, err := receiver.New(receiver.Config{Secrets: []string{testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	h := rcv.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drop[r.Header.Get(webhook.HeaderID)] {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK) // "got it" — and then nothing
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The user's endpoint drops some 2xx'd webhooks: read from its journal,
// exactly those are lost; judged by its answers alone, none is.
func TestUserEndpointThatDropsIsCaught(t *testing.T) {
	drop := map[string]bool{"t_4": true, "t_11": true, "t_38": true}
	srv := droppingEndpoint(t, drop)
	s := simtest.Parse(t, "dropping-endpoint", simtest.Quick+`
assertions:
  - lost == 0
`)
	res := run(t, s, live.Options{
		ReceiverURL: srv.URL + "/hooks",
		ReceiptsURL: srv.URL + "/v1/receipts",
		Secret:      testSecret,
		IDPrefix:    "t_",
	})
	simtest.Want(t, res, map[string][2]int64{
		"accepted":  {res.Events.Accepted, 40},
		"delivered": {res.Events.Delivered, 37},
		"lost":      {res.Events.Lost, 3},
	})
	if wantIDs := []string{"t_4", "t_11", "t_38"}; !slices.Equal(res.Examples.Lost, wantIDs) {
		t.Errorf("lost ids %v, want %v", res.Examples.Lost, wantIDs)
	}
	if res.Passed || !strings.Contains(res.Assertions[0].Message, "lost = 3") {
		t.Errorf("the assertion should fail with lost = 3: %+v", res.Assertions)
	}

	// Without the journal, receipts are what the proxy saw the endpoint
	// answer: a 200 for every one.
	res = run(t, s, live.Options{ReceiverURL: srv.URL + "/hooks", Secret: testSecret, IDPrefix: "u_"})
	simtest.Want(t, res, map[string][2]int64{
		"accepted":  {res.Events.Accepted, 40},
		"delivered": {res.Events.Delivered, 40},
		"lost":      {res.Events.Lost, 0},
	})
}

// toySender is a user's own sender, driven through a trigger: POST /emit
// {"id", "url"} queues a webhook with that id for that URL and answers
// 202; a goroutine signs and delivers it, retrying a few times. It
// silently forgets the ids it is told to drop.
type toySender struct {
	signer *webhook.Signer
	drop   map[string]bool
	wg     sync.WaitGroup
}

func (ts *toySender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct{ ID, URL string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ID == "" {
		http.Error(w, "bad trigger", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	if ts.drop[req.ID] {
		return
	}
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		body := []byte(fmt.Sprintf(`{"type":"toy","id":%q}`, req.ID))
		for n := 1; n <= 5; n++ {
			hr, _ := http.NewRequest(http.MethodPost, req.URL, strings.NewReader(string(body)))
			ts.signer.SetHeaders(hr.Header, req.ID, time.Now(), body)
			hr.Header.Set(webhook.HeaderAttempt, fmt.Sprint(n))
			hr.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(hr)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					return
				}
			}
		}
	}()
}

// A trigger drives the user's own sender: accepted is what the trigger
// acknowledged, and the ids it dropped are lost.
func TestTriggerDrivesUsersSender(t *testing.T) {
	signer, err := webhook.NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "trg_"
	toy := &toySender{signer: signer, drop: map[string]bool{prefix + "7": true, prefix + "20": true}}
	srv := httptest.NewServer(toy)
	t.Cleanup(func() { srv.Close(); toy.wg.Wait() })
	trig, err := scenarios.ParseTrigger(`POST `+srv.URL+`/emit {"id":"{{.ID}}","url":"{{.Endpoint}}"}`, "--trigger")
	if err != nil {
		t.Fatal(err)
	}
	s := simtest.Parse(t, "toy-sender", `
load:
  phases:
    - {name: load, pacer: constant:40, duration: 1s}
faults:
  - name: first-fails
    match: attempt == 1 && event_id matches "_(1|2|3)$"
    fault: {type: status, code: 503}
drain:
  timeout: 2s
`)
	res := run(t, s, live.Options{Trigger: trig, Secret: testSecret, IDPrefix: prefix})
	simtest.Want(t, res, map[string][2]int64{
		"accepted":   {res.Events.Accepted, 40},
		"delivered":  {res.Events.Delivered, 38},
		"lost":       {res.Events.Lost, 2},
		"pending":    {res.Events.Pending, 0},
		"duplicated": {res.Events.Duplicated, 0},
		// Events 1-3 are refused once each, then delivered on the retry.
		"attempts.total":   {res.Attempts.Total, 41},
		"attempts.faulted": {res.Attempts.Faulted, 3},
	})
	if wantIDs := []string{prefix + "7", prefix + "20"}; !slices.Equal(res.Examples.Lost, wantIDs) {
		t.Errorf("lost ids %v, want %v", res.Examples.Lost, wantIDs)
	}
	if !res.Run.DrainTimedOut {
		t.Error("the drain should have timed out waiting for the dropped events")
	}
}

// A trigger with no body (the user's sender makes up its own event) posts
// nothing per event: it used to panic in the load generator's renderer.
// Nothing is delivered under the run's ids, so every accepted event is lost.
func TestTriggerWithoutBody(t *testing.T) {
	var posts, nonEmpty atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts.Add(1)
		if len(b) > 0 {
			nonEmpty.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	trig, err := scenarios.ParseTrigger("POST "+srv.URL+"/emit", "--trigger")
	if err != nil {
		t.Fatal(err)
	}
	s := simtest.Parse(t, "no-body", `
load:
  phases:
    - {name: load, pacer: constant:20, duration: 200ms}
drain:
  timeout: 100ms
`)
	res := run(t, s, live.Options{Trigger: trig, Secret: testSecret, IDPrefix: "nb_"})
	simtest.Want(t, res, map[string][2]int64{
		"accepted":          {res.Events.Accepted, 4},
		"lost":              {res.Events.Lost, 4},
		"posts":             {posts.Load(), 4},
		"posts with a body": {nonEmpty.Load(), 0},
	})
}

// The sender is killed mid-load and restarted on the same outbox: every
// event it acknowledged survives, ingest fails while it is down, and the
// load generator carries on once it is back on the same address.
func TestSenderCrashLosesNothing(t *testing.T) {
	s := simtest.Parse(t, "crash", `
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
  crashes:
    - {at: 700ms, down: 400ms}
load:
  phases:
    - {name: load, pacer: constant:50, duration: 2s}
faults:
  - name: slow
    fault: {type: latency, distribution: uniform, min: 10ms, max: 60ms}
drain: {timeout: 20s}
assertions:
  - lost == 0
  - pending == 0
`)
	res := run(t, s, live.Options{})
	simtest.CheckAccount(t, res)
	e := res.Events
	simtest.Want(t, res, map[string][2]int64{
		"load.sent":     {res.Load.Sent, 100},
		"lost":          {e.Lost, 0},
		"pending":       {e.Pending, 0},
		"dead_lettered": {e.DeadLettered, 0},
		"delivered":     {e.Delivered, e.Accepted},
	})
	// Requests while it was down are refused; one in flight at the crash
	// may have been made durable without its answer getting out, so it
	// counts as accepted and rejected both.
	if res.Load.Rejected < 10 || e.Accepted+res.Load.Rejected < res.Load.Sent || e.Accepted > res.Load.Sent-10 {
		t.Errorf("accepted %d, rejected %d of %d sent", e.Accepted, res.Load.Rejected, res.Load.Sent)
	}
	if !res.Passed {
		t.Errorf("assertions: %+v", res.Assertions)
	}
}

// Cancelling the context stops the load, drains briefly and still
// returns the result of what ran, marked interrupted.
func TestInterruptedRunReportsWhatRan(t *testing.T) {
	s := simtest.Parse(t, "interrupted", `
load:
  phases:
    - {name: load, pacer: constant:50, duration: 30s}
drain: {timeout: 30s}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := sim.Run(ctx, s, live.Options{ProgressEvery: 50 * time.Millisecond, Progress: func(p live.Progress) {
		if p.Accepted >= 10 {
			cancel()
		}
	}})
	if err != live.ErrInterrupted || res == nil {
		t.Fatalf("err %v, result %v", err, res != nil)
	}
	simtest.CheckAccount(t, res)
	if res.Events.Accepted < 10 || res.Events.Accepted > 1000 || res.Run.LoadEndS > 20 {
		t.Errorf("accepted %d, load end %v s", res.Events.Accepted, res.Run.LoadEndS)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "interrupted") {
		t.Errorf("notes %q do not say it was interrupted", res.Notes)
	}
}

// Every built-in scenario passes its own assertions, each in a version
// shortened to a quarter of its timeline (rates, policies and faults as
// written). Scenarios too long to run live (virtual-time ones) are left
// to hookrig sim.
func TestBuiltinScenariosPass(t *testing.T) {
	list, err := scenarios.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range list {
		t.Run(entry.Name, func(t *testing.T) {
			// Two at a time at most (-parallel is GOMAXPROCS): each mostly
			// waits on its timeline, and their assertions leave room for a
			// busy machine.
			t.Parallel()
			s, err := scenarios.Builtin(entry.Name)
			if err != nil {
				t.Fatal(err)
			}
			if s.LoadEnd() > time.Minute {
				t.Skipf("%s lasts %s: a virtual-time scenario (hookrig sim)", s.Name, s.LoadEnd())
			}
			short := shrunk(s.Shortened(0.25))
			var opts live.Options
			if s.NeedsPostgres(false, false) {
				opts.Postgres = pgtest.Start(t) // skipped, saying why, without PostgreSQL
			}
			start := time.Now()
			res := run(t, short, opts)
			e := res.Events
			t.Logf("%s: %.1fs wall, %d accepted, %d delivered, %d lost, %d duplicated, %d dead-lettered, %d reordered, %d attempts, p99 %.1f ms, herd ratio %.2f",
				s.Name, time.Since(start).Seconds(), e.Accepted, e.Delivered, e.Lost, e.Duplicated, e.DeadLettered, e.Reordered,
				res.Attempts.Total, res.Latency.Delivery.P99, res.Herd.Ratio)
			if e.Accepted == 0 {
				t.Error("nothing was accepted")
			}
			for _, a := range res.Assertions {
				if !a.Passed {
					t.Errorf("%s: %s", a.Expr, a.Message)
				}
			}
		})
	}
}

// shrunk keeps a test's fleet to at most 100 endpoints, each group in
// proportion (at least one endpoint): a thousand endpoints live under
// -race on a busy machine would take minutes; hookrig run runs them whole.
func shrunk(s *scenarios.Scenario) *scenarios.Scenario {
	size := s.Endpoints.Size()
	if size <= 100 {
		return s
	}
	out := *s
	out.Endpoints.Groups = slices.Clone(s.Endpoints.Groups)
	for i := range out.Endpoints.Groups {
		g := &out.Endpoints.Groups[i]
		g.Count = max(1, g.Count*100/size)
	}
	return &out
}
