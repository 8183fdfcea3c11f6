package conform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/verdict"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// testOptions keep the two load phases small (tens of webhooks, under a
// second each): the checks are the same, only the figures shrink.
func testOptions(receipts string) ReceiverOptions {
	return ReceiverOptions{
		Secret: testSecret, Clock: clock.Real{}, ReceiptsURL: receipts,
		FastRate: 20, FastDuration: 500 * time.Millisecond,
		LoadRate: 100, LoadDuration: 500 * time.Millisecond,
	}
}

func grade(t *testing.T, url string, opts ReceiverOptions) verdict.Conformance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Receiver(ctx, url, opts)
	if err != nil {
		t.Fatalf("Receiver: %v", err)
	}
	return rep
}

func byID(rep verdict.Conformance) map[string]verdict.ConformCheck {
	m := map[string]verdict.ConformCheck{}
	for _, c := range rep.Checks {
		m[c.ID] = c
	}
	return m
}

func dump(rep verdict.Conformance) string {
	var b strings.Builder
	for _, c := range rep.Checks {
		b.WriteString("\n  " + c.ID + " " + string(c.Level) + " " + string(c.Status) + ": " + c.Evidence)
	}
	return b.String()
}

// hookrig's reference receiver passes every check, with the receipts
// check run against its own journal.
func TestReferenceReceiverPassesEveryCheck(t *testing.T) {
	rcv, err := receiver.New(receiver.Config{Secrets: []string{testSecret}, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv.Handler())
	defer srv.Close()
	defer rcv.Close()
	rep := grade(t, srv.URL+"/webhooks", testOptions(srv.URL+"/v1/receipts"))
	if len(rep.Checks) != len(ReceiverRules()) {
		t.Fatalf("%d checks, want %d", len(rep.Checks), len(ReceiverRules()))
	}
	for _, c := range rep.Checks {
		if c.Status != verdict.CheckPass {
			t.Errorf("%s: %s, want pass: %s", c.ID, c.Status, c.Evidence)
		}
	}
	if !rep.Passed || rep.Schema != verdict.ConformSchema || rep.Target != verdict.ConformReceiver {
		t.Errorf("passed %v schema %q target %q", rep.Passed, rep.Schema, rep.Target)
	}
}

// flaws are the bugs a broken receiver can have, one or more at a time.
type flaws struct {
	reserialise       bool          // verifies json.Marshal(json.Unmarshal(body)), not the raw bytes
	noLowerBound      bool          // accepts any old timestamp
	noUpperBound      bool          // accepts any future timestamp
	tolerance         time.Duration // 0: 5 minutes
	formatOnly        bool          // checks that the signature looks like "v1,..." and not its value
	firstSigOnly      bool          // tries only the first of several signatures
	conflictOnRepeat  bool          // answers 409 to an id it has seen
	processRepeats    bool          // processes (journals as fresh) an id it has seen
	serverErrOnBadIn  bool          // 500 to a body that is not JSON
	redirectBadIn     bool          // 302 to an error page for a body that is not JSON
	exactContentType  bool          // 415 unless Content-Type is exactly application/json
	maxBody           int64         // 0: 1 MiB
	slow              time.Duration // every answer waits this long
	stallLoadEvents   time.Duration // webhooks of the load phases wait this long
	concurrentRefused bool          // 409 to a copy that arrives while the first is in flight
}

// brokenReceiver is a small Standard Webhooks receiver written in the test
// with the given flaws, journaling what it processed in the GET
// /v1/receipts format.
type brokenReceiver struct {
	f        flaws
	secret   webhook.Secret
	mu       sync.Mutex
	seen     map[string]bool
	inFlight map[string]chan struct{}
	receipts []map[string]any
}

func newBroken(t *testing.T, f flaws) *httptest.Server {
	sec, err := webhook.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	b := &brokenReceiver{f: f, secret: sec, seen: map[string]bool{}, inFlight: map[string]chan struct{}{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return srv
}

func (b *brokenReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/receipts" {
		b.serveReceipts(w, r)
		return
	}
	if r.URL.Path == "/error" {
		http.Error(w, "something went wrong", http.StatusOK)
		return
	}
	if b.f.slow > 0 {
		wait(r, b.f.slow)
	}
	limit := b.f.maxBody
	if limit == 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	if bytes.Contains(body, []byte(`"type":"hookrig.conform.`)) && b.f.stallLoadEvents > 0 {
		wait(r, b.f.stallLoadEvents)
	}
	if ct := r.Header.Get("Content-Type"); b.f.exactContentType && ct != "application/json" {
		http.Error(w, "want application/json", http.StatusUnsupportedMediaType)
		return
	}
	id := r.Header.Get(webhook.HeaderID)
	if status := b.verify(r.Header, body); status != 0 {
		http.Error(w, "bad signature or timestamp", status)
		return
	}
	if !json.Valid(body) {
		switch {
		case b.f.serverErrOnBadIn:
			http.Error(w, "parse error", http.StatusInternalServerError)
		case b.f.redirectBadIn:
			http.Redirect(w, r, "/error", http.StatusFound)
		default:
			http.Error(w, "not JSON", http.StatusBadRequest)
		}
		return
	}
	if b.f.concurrentRefused && !b.hold(id) {
		http.Error(w, "in flight", http.StatusConflict)
		return
	}
	b.mu.Lock()
	dup := b.seen[id]
	b.seen[id] = true
	if dup && b.f.conflictOnRepeat {
		b.mu.Unlock()
		http.Error(w, "already received", http.StatusConflict)
		return
	}
	b.receipts = append(b.receipts, map[string]any{"seq": len(b.receipts) + 1, "id": id, "status": 200, "duplicate": dup && !b.f.processRepeats})
	b.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// hold marks id in flight until a copy arrives or a moment passes: a
// handler that processes before it answers. A copy arriving meanwhile is
// refused (false).
func (b *brokenReceiver) hold(id string) bool {
	b.mu.Lock()
	if ch, ok := b.inFlight[id]; ok {
		close(ch)
		delete(b.inFlight, id)
		b.mu.Unlock()
		return false
	}
	ch := make(chan struct{})
	b.inFlight[id] = ch
	b.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(200 * time.Millisecond): // processing time
		b.mu.Lock()
		delete(b.inFlight, id)
		b.mu.Unlock()
	}
	return true
}

// wait stands for slow work in a handler.
func wait(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

// verify is a hand-written verifier with the configured flaws: 0 when the
// webhook is accepted, else the status to answer.
func (b *brokenReceiver) verify(h http.Header, body []byte) int {
	id, tsText, sigs := h.Get(webhook.HeaderID), h.Get(webhook.HeaderTimestamp), h.Get(webhook.HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return http.StatusUnauthorized
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return http.StatusBadRequest
	}
	tol := b.f.tolerance
	if tol == 0 {
		tol = 5 * time.Minute
	}
	now := time.Now()
	if (!b.f.noLowerBound && time.Unix(ts, 0).Before(now.Add(-tol))) || (!b.f.noUpperBound && time.Unix(ts, 0).After(now.Add(tol))) {
		return http.StatusBadRequest
	}
	if b.f.reserialise {
		if out, err := reserialise(body); err == nil {
			body = out
		}
	}
	want := b.secret.Sign(id, ts, body)
	list := strings.Split(sigs, " ")
	if b.f.firstSigOnly {
		list = list[:1]
	}
	for _, s := range list {
		if s == want || (b.f.formatOnly && strings.HasPrefix(s, "v1,") && len(s) > 3) {
			return 0
		}
	}
	return http.StatusUnauthorized
}

// reserialise is JSON.stringify(JSON.parse(body)), the bug of a Node
// handler behind a JSON body parser: key order kept, whitespace dropped,
// strings and numbers written back in their own canonical form (1.0
// becomes 1, big integers lose digits, \u escapes become characters).
func reserialise(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var out []byte
	// needComma says whether the next value in the current container
	// follows another; isKey whether an object's key comes next.
	type frame struct{ object, needComma, isKey bool }
	stack := []frame{{}}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		top := &stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			out = append(out, byte(d))
			stack = stack[:len(stack)-1]
			continue
		}
		if top.needComma && (!top.object || top.isKey) {
			out = append(out, ',')
		}
		if top.object && !top.isKey {
			out = append(out, ':')
		}
		if top.object {
			top.isKey = !top.isKey
		}
		top.needComma = true
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, byte(v))
			stack = append(stack, frame{object: v == '{', isKey: v == '{'})
		case float64:
			out = strconv.AppendFloat(out, v, 'f', -1, 64)
		default:
			b, _ := json.Marshal(v)
			out = append(out, b...)
		}
	}
}

func (b *brokenReceiver) serveReceipts(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	b.mu.Lock()
	page := map[string]any{"receipts": []map[string]any{}, "next": since}
	if since < len(b.receipts) {
		page["receipts"] = b.receipts[since:]
		page["next"] = len(b.receipts)
	}
	out, _ := json.Marshal(page)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// Each broken receiver is caught by its own check and by no other MUST
// check; a SHOULD flaw warns and leaves the run passed.
func TestBrokenReceiversCaughtByTheirCheck(t *testing.T) {
	cases := []struct {
		check string
		f     flaws
		tune  func(*ReceiverOptions)
	}{
		{check: "signature.invalid-rejected", f: flaws{formatOnly: true}},
		{check: "signature.rotation", f: flaws{firstSigOnly: true}},
		{check: "signature.raw-body", f: flaws{reserialise: true}},
		{check: "timestamp.stale-rejected", f: flaws{noLowerBound: true}},
		{check: "timestamp.future-rejected", f: flaws{noUpperBound: true}},
		{check: "timestamp.tolerance-kept", f: flaws{tolerance: time.Minute}},
		{check: "idempotency.redelivery", f: flaws{conflictOnRepeat: true}},
		{check: "idempotency.processed-once", f: flaws{processRepeats: true}},
		{check: "idempotency.concurrent", f: flaws{concurrentRefused: true}},
		{check: "status.bad-input-not-5xx", f: flaws{serverErrOnBadIn: true}},
		{check: "status.no-redirect", f: flaws{redirectBadIn: true}},
		{check: "body.large", f: flaws{maxBody: 64 << 10}},
		{check: "content-type.charset", f: flaws{exactContentType: true}},
		{check: "ack.fast", f: flaws{slow: 60 * time.Millisecond}, tune: func(o *ReceiverOptions) { o.FastP99 = 30 * time.Millisecond }},
		{check: "ack.within-timeout", f: flaws{stallLoadEvents: 700 * time.Millisecond},
			tune: func(o *ReceiverOptions) { o.AckTimeout = 300 * time.Millisecond; o.Skip = []string{"ack.under-load"} }},
		{check: "ack.under-load", f: flaws{slow: 60 * time.Millisecond},
			tune: func(o *ReceiverOptions) { o.LoadP99 = 30 * time.Millisecond; o.Skip = []string{"ack.fast"} }},
	}
	levels := map[string]verdict.Level{}
	for _, r := range ReceiverRules() {
		levels[r.ID] = r.Level
	}
	for _, tc := range cases {
		t.Run(tc.check, func(t *testing.T) {
			srv := newBroken(t, tc.f)
			opts := testOptions(srv.URL + "/v1/receipts")
			if tc.tune != nil {
				tc.tune(&opts)
			}
			rep := grade(t, srv.URL+"/hook", opts)
			want := verdict.Grade(levels[tc.check], false)
			for _, c := range rep.Checks {
				switch {
				case c.ID == tc.check && c.Status != want:
					t.Errorf("%s: %s, want %s: %s", c.ID, c.Status, want, c.Evidence)
				case c.ID != tc.check && c.Status == verdict.CheckFail:
					t.Errorf("%s also failed: %s", c.ID, c.Evidence)
				}
			}
			if rep.Passed != (want != verdict.CheckFail) {
				t.Errorf("passed = %v with %s %s", rep.Passed, tc.check, want)
			}
			if t.Failed() {
				t.Log(dump(rep))
			}
		})
	}
}

// A receiver that is not there stops the run at the preflight, with the
// probe's reason.
func TestPreflightFailureStopsTheRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Receiver(context.Background(), "http://"+addr+"/hook", testOptions(""))
	var pe *PreflightError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want a preflight error saying the connection was refused", err)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		tune func(*ReceiverOptions)
		want string
	}{
		{"unknown check", func(o *ReceiverOptions) { o.Only = []string{"signature.nope"} }, `no check "signature.nope"`},
		{"no secret", func(o *ReceiverOptions) { o.Secret = "" }, "no secret"},
		{"unknown scheme", func(o *ReceiverOptions) { o.Scheme = "carrier-pigeon" }, `unknown scheme "carrier-pigeon"`},
		{"bad receipts URL", func(o *ReceiverOptions) { o.ReceiptsURL = "ftp://x" }, "receipts URL"},
	} {
		opts := testOptions("")
		tc.tune(&opts)
		_, err := Receiver(context.Background(), "http://127.0.0.1:9/hook", opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

// --only runs just the named checks and reports the others skipped.
func TestOnlyRunsTheNamedChecks(t *testing.T) {
	srv := newBroken(t, flaws{reserialise: true})
	opts := testOptions("")
	opts.Only = []string{"signature.valid", "signature.raw-body"}
	rep := grade(t, srv.URL, opts)
	got := byID(rep)
	if got["signature.valid"].Status != verdict.CheckPass || got["signature.raw-body"].Status != verdict.CheckFail {
		t.Errorf("ran checks: %s", dump(rep))
	}
	if s := got["ack.under-load"].Status; s != verdict.CheckSkip {
		t.Errorf("ack.under-load %s, want skip", s)
	}
	if rep.Passed {
		t.Error("passed with a failed MUST check")
	}
}
