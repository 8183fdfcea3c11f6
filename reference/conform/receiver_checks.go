package conform

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Sections of the Standard Webhooks specification the rules come from.
const (
	specSignature  = "Signature scheme"
	specHeaders    = "Webhook headers"
	specVerify     = "Verifying signatures"
	specMetadata   = "Webhook metadata"
	specDelivery   = "Delivery success and failure"
	specTimeouts   = "Request timeouts"
	specPayload    = "Payload structure"
	specPayloadMax = "Payload size"
)

// Rule is one check of the catalogue: what it is called, how strongly the
// spec asks for it, where, and what hookrig sends to grade it.
type Rule struct {
	ID    string
	Level verdict.Level
	Spec  string
	Sends string // for docs and --help: what the check sends and expects
	grade func(ctx context.Context, r *receiverRun) outcome
}

// outcome is a check's finding before it is graded by its level.
type outcome struct {
	held     bool
	skip     bool
	evidence string
}

// check is the graded row of rule for this outcome.
func (o outcome) check(rule Rule) verdict.ConformCheck {
	ch := verdict.ConformCheck{ID: rule.ID, Level: rule.Level, Spec: rule.Spec, Evidence: o.evidence}
	if o.skip {
		ch.Status = verdict.CheckSkip
	} else {
		ch.Status = verdict.Grade(rule.Level, o.held)
	}
	return ch
}

// leftOut is the outcome of a check --only or --skip left out.
func leftOut() outcome { return outcome{skip: true, evidence: "left out (--only/--skip)"} }

func held(format string, args ...any) outcome {
	return outcome{held: true, evidence: fmt.Sprintf(format, args...)}
}
func broke(format string, args ...any) outcome {
	return outcome{evidence: fmt.Sprintf(format, args...)}
}
func skipped(format string, args ...any) outcome {
	return outcome{skip: true, evidence: fmt.Sprintf(format, args...)}
}

// ReceiverRules is the receiver catalogue in the order checks run: the
// two that grade every answer of the run come last.
func ReceiverRules() []Rule {
	return []Rule{
		{"signature.valid", verdict.Must, specSignature, "a correctly signed webhook; expects 2xx", checkValid},
		{"signature.invalid-rejected", verdict.Must, specVerify, "wrong secret, body/id/timestamp changed, each header missing, empty signature, bare v1, and only v9,; expects 4xx to each", checkInvalid},
		{"signature.rotation", verdict.Must, specHeaders, "three space-separated signatures, the valid v1 last, a v1a among them; expects 2xx", checkRotation},
		{"signature.raw-body", verdict.Must, specSignature, "bodies a JSON library would re-emit differently (escapes, key order, whitespace, big numbers, 1.0); expects 2xx to each", checkRawBody},
		{"timestamp.stale-rejected", verdict.Must, specVerify, "a valid signature with a timestamp 10 minutes old; expects 4xx", checkStale},
		{"timestamp.future-rejected", verdict.Must, specVerify, "a valid signature with a timestamp 10 minutes ahead; expects 4xx", checkFuture},
		{"timestamp.tolerance-kept", verdict.Should, specVerify, "a valid signature with a timestamp 4 minutes old; expects 2xx", checkTolerance},
		{"idempotency.redelivery", verdict.Must, specMetadata, "a webhook, then the same id re-signed with a fresh timestamp and webhook-attempt: 2; expects 2xx to both", checkRedelivery},
		{"idempotency.processed-once", verdict.Must, specVerify, "reads --receipts after the redelivery; expects the id processed once", checkProcessedOnce},
		{"idempotency.concurrent", verdict.Should, specVerify, "two copies of one webhook at once; expects 2xx to both (and one processing with --receipts)", checkConcurrent},
		{"status.bad-input-not-5xx", verdict.Should, specDelivery, "signed non-JSON and empty bodies; expects 2xx or 4xx, never 5xx", checkBadInput},
		{"body.large", verdict.Should, specPayloadMax, "a signed 256 KiB JSON body; expects 2xx", checkLarge},
		{"content-type.charset", verdict.Should, specPayload, "Content-Type: application/json; charset=utf-8; expects 2xx", checkCharset},
		{"ack.fast", verdict.Should, specTimeouts, "a light steady load (default 20/s for 5 s); expects p99 ≤ 1 s", checkFast},
		{"ack.under-load", verdict.Should, specTimeouts, "an open-loop load (default --rate 200/s for 10 s); expects no 5xx, no reset, p99 ≤ 2 s", checkUnderLoad},
		{"ack.within-timeout", verdict.Must, specTimeouts, "grades every answer of the run (one webhook of its own at least); expects each within 15 s", checkWithinTimeout},
		{"status.no-redirect", verdict.Must, specDelivery, "grades every answer of the run (one webhook of its own at least); expects no 3xx", checkNoRedirect},
	}
}

func checkValid(ctx context.Context, r *receiverRun) outcome {
	a := r.send(ctx, r.fresh("signed webhook", "signature.valid"))
	if !a.ok() {
		return broke("a correctly signed webhook was answered %s", a)
	}
	return held("a correctly signed webhook was answered %s in %s", a, ms(a.elapsed))
}

// forgery is one way a webhook's signature can be wrong.
type forgery struct {
	name  string
	forge func(r *receiverRun, w *webhookReq)
}

// forgeries are the variants of signature.invalid-rejected: each starts
// from a correctly signed webhook and breaks one thing.
func forgeries() []forgery {
	resign := func(w *webhookReq, sig string) { w.header.Set(webhook.HeaderSignature, sig) }
	return []forgery{
		{"wrong secret", func(r *receiverRun, w *webhookReq) {
			other := webhook.NewSecret([]byte("hookrig conform: not the endpoint's secret"))
			ts, _ := strconv.ParseInt(w.header.Get(webhook.HeaderTimestamp), 10, 64)
			resign(w, other.Sign(w.header.Get(webhook.HeaderID), ts, w.body))
		}},
		{"body changed by one byte", func(r *receiverRun, w *webhookReq) {
			w.body = append([]byte(nil), w.body...)
			w.body[len(w.body)-2] ^= 0x01 // inside the last string: the JSON stays valid
		}},
		{"id changed", func(r *receiverRun, w *webhookReq) {
			w.header.Set(webhook.HeaderID, w.header.Get(webhook.HeaderID)+"x")
		}},
		{"timestamp changed", func(r *receiverRun, w *webhookReq) {
			ts, _ := strconv.ParseInt(w.header.Get(webhook.HeaderTimestamp), 10, 64)
			w.header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts-1, 10)) // within tolerance: only the signature can catch it
		}},
		{"webhook-id missing", func(r *receiverRun, w *webhookReq) { w.header.Del(webhook.HeaderID) }},
		{"webhook-timestamp missing", func(r *receiverRun, w *webhookReq) { w.header.Del(webhook.HeaderTimestamp) }},
		{"webhook-signature missing", func(r *receiverRun, w *webhookReq) { w.header.Del(webhook.HeaderSignature) }},
		{"empty signature", func(r *receiverRun, w *webhookReq) { resign(w, "") }},
		{"bare v1,", func(r *receiverRun, w *webhookReq) { resign(w, "v1,") }},
		{"only an unknown version v9,", func(r *receiverRun, w *webhookReq) {
			resign(w, "v9,"+strings.TrimPrefix(w.header.Get(webhook.HeaderSignature), "v1,"))
		}},
	}
}

func checkInvalid(ctx context.Context, r *receiverRun) outcome {
	if r.scheme != nil {
		return checkInvalidScheme(ctx, r)
	}
	var bad []string
	codes := map[int]int{}
	fs := forgeries()
	for _, f := range fs {
		w := r.fresh(f.name, "signature.invalid-rejected")
		f.forge(r, &w)
		a := r.send(ctx, w)
		codes[a.status]++
		if !a.rejected() {
			bad = append(bad, f.name+" → "+a.String())
		}
	}
	if len(bad) > 0 {
		return broke("%d of %d forged webhooks not answered 4xx: %s", len(bad), len(fs), strings.Join(bad, "; "))
	}
	return held("all %d forged webhooks answered 4xx (%s)", len(fs), tally(codes))
}

func checkRotation(ctx context.Context, r *receiverRun) outcome {
	if r.scheme != nil {
		return checkRotationScheme(ctx, r)
	}
	w := r.fresh("rotation", "signature.rotation")
	valid := w.header.Get(webhook.HeaderSignature)
	other := webhook.NewSecret([]byte("hookrig conform: the retired secret"))
	ts, _ := strconv.ParseInt(w.header.Get(webhook.HeaderTimestamp), 10, 64)
	v1a := "v1a," + base64.StdEncoding.EncodeToString(make([]byte, 64)) // an ed25519-sized signature a symmetric verifier must skip
	w.header.Set(webhook.HeaderSignature, other.Sign(w.header.Get(webhook.HeaderID), ts, w.body)+" "+v1a+" "+valid)
	a := r.send(ctx, w)
	if !a.ok() {
		return broke("signatures \"v1,<old secret> v1a,<...> v1,<valid>\" answered %s: only the first is tried?", a)
	}
	return held("the valid signature third of three (after an old v1 and a v1a) answered %s", a)
}

// rawBodies are payloads whose bytes differ from what a JSON library
// would write back: a receiver that parses and re-serialises before
// verifying refuses them.
func rawBodies() []struct{ name, body string } {
	return []struct{ name, body string }{
		{"non-ASCII", `{"type":"hookrig.conform","data":{"name":"Zoë Ångström 東京"}}`},
		{`\u escapes`, `{"type":"hookrig.conform","data":{"name":"Zo\u00eb \u6771\u4eac \/ \u003c"}}`},
		{"key order", `{"type":"hookrig.conform","data":{"zeta":1,"alpha":2,"mid":3}}`},
		{"whitespace", "{ \"type\" : \"hookrig.conform\",\n  \"data\" : { \"list\" : [ 1 , 2 ] }\n}\n"},
		{"large integers", `{"type":"hookrig.conform","data":{"test":2432232314,"id":12345678901234567890}}`},
		{"floats", `{"type":"hookrig.conform","data":{"amount":1.0,"rate":1e2,"tiny":0.10}}`},
	}
}

func checkRawBody(ctx context.Context, r *receiverRun) outcome {
	var bad []string
	bodies := rawBodies()
	for _, b := range bodies {
		a := r.send(ctx, r.signed(b.name, r.nextID(), r.opts.Clock.Now(), []byte(b.body)))
		if !a.ok() {
			bad = append(bad, b.name+" → "+a.String())
		}
	}
	if len(bad) > 0 {
		return broke("%d of %d signed bodies refused (verifying re-serialised JSON, not the raw bytes?): %s", len(bad), len(bodies), strings.Join(bad, "; "))
	}
	return held("all %d bodies (%s) answered 2xx", len(bodies), names(bodies))
}

func names(bodies []struct{ name, body string }) string {
	ns := make([]string, len(bodies))
	for i, b := range bodies {
		ns[i] = b.name
	}
	return strings.Join(ns, ", ")
}

// skewed sends a correctly signed webhook stamped off from now.
func (r *receiverRun) skewed(ctx context.Context, check string, off time.Duration) answer {
	at := r.opts.Clock.Now().Add(off)
	return r.send(ctx, r.signed(check, r.nextID(), at, r.body(check, at)))
}

func checkStale(ctx context.Context, r *receiverRun) outcome {
	if o, ok := r.unsignedTime(); ok {
		return o
	}
	a := r.skewed(ctx, "timestamp.stale-rejected", -10*time.Minute)
	if !a.rejected() {
		return broke("a valid signature stamped 10 min ago answered %s: replayable", a)
	}
	return held("stamped 10 min ago: answered %s", a)
}

func checkFuture(ctx context.Context, r *receiverRun) outcome {
	if o, ok := r.unsignedTime(); ok {
		return o
	}
	a := r.skewed(ctx, "timestamp.future-rejected", 10*time.Minute)
	if !a.rejected() {
		return broke("a valid signature stamped 10 min ahead answered %s", a)
	}
	return held("stamped 10 min ahead: answered %s", a)
}

func checkTolerance(ctx context.Context, r *receiverRun) outcome {
	if o, ok := r.unsignedTime(); ok {
		return o
	}
	a := r.skewed(ctx, "timestamp.tolerance-kept", -4*time.Minute)
	if !a.ok() {
		return broke("stamped 4 min ago answered %s: stricter than the spec's 5-minute tolerance", a)
	}
	return held("stamped 4 min ago: answered %s", a)
}

// redeliveryResult is the first delivery and the retry of one webhook.
type redeliveryResult struct {
	id            string
	first, second answer
}

// redeliver sends one webhook and then its retry (same id and body,
// re-signed with a fresh timestamp, webhook-attempt: 2), once per run:
// idempotency.redelivery and idempotency.processed-once grade the pair.
func (r *receiverRun) redeliver(ctx context.Context) redeliveryResult {
	r.redeliveryOnce.Do(func() {
		at := r.opts.Clock.Now()
		id, body := r.nextID(), r.body("idempotency.redelivery", at)
		w := r.signed("first delivery", id, at, body)
		w.header.Set(webhook.HeaderAttempt, "1")
		r.redelivery = redeliveryResult{id: id, first: r.send(ctx, w)}
		// A fresh timestamp as a retry has: one second on, so the
		// signature differs from the first even within the same second.
		w = r.signed("redelivery", id, r.opts.Clock.Now().Add(time.Second), body)
		w.header.Set(webhook.HeaderAttempt, "2")
		r.redelivery.second = r.send(ctx, w)
	})
	return r.redelivery
}

func checkRedelivery(ctx context.Context, r *receiverRun) outcome {
	d := r.redeliver(ctx)
	switch {
	case !d.first.ok():
		return skipped("the first delivery was answered %s (see signature.valid)", d.first)
	case !d.second.ok():
		return broke("the redelivery of an acknowledged id (webhook-attempt: 2) answered %s: a sender retries it for days", d.second)
	}
	return held("first delivery %s, redelivery of the same id %s", d.first, d.second)
}

func checkProcessedOnce(ctx context.Context, r *receiverRun) outcome {
	if o, ok := r.noID(); ok {
		return o
	}
	if r.journal == nil {
		return skipped("needs --receipts URL (the endpoint's journal) to see what it processed")
	}
	d := r.redeliver(ctx)
	if !d.first.ok() || !d.second.ok() {
		return skipped("the redelivery was not acknowledged (see idempotency.redelivery)")
	}
	n, err := r.journal.processed(ctx, d.id)
	if err != nil {
		return skipped("receipts: %v", err)
	}
	if n != 1 {
		return broke("the journal shows %s processed %d times after a redelivery", d.id, n)
	}
	return held("the journal shows %s processed once over two deliveries", d.id)
}

func checkConcurrent(ctx context.Context, r *receiverRun) outcome {
	w := r.fresh("concurrent copy", "idempotency.concurrent")
	var answers [2]answer
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		c := webhookReq{label: w.label, header: w.header.Clone(), body: w.body}
		wg.Go(func() {
			<-start // both leave together
			answers[i] = r.send(ctx, c)
		})
	}
	close(start)
	wg.Wait()
	if !answers[0].ok() || !answers[1].ok() {
		return broke("two concurrent copies of one webhook answered %s and %s (a retry racing a slow first attempt must not fail)", answers[0], answers[1])
	}
	if o, ok := r.noID(); ok {
		return held("two concurrent copies answered %s and %s (%s)", answers[0], answers[1], o.evidence)
	}
	if r.journal == nil {
		return held("two concurrent copies answered %s and %s (give --receipts to see them processed once)", answers[0], answers[1])
	}
	n, err := r.journal.processed(ctx, w.id)
	if err != nil {
		return skipped("receipts: %v", err)
	}
	if n != 1 {
		return broke("two concurrent copies answered %s and %s but were processed %d times", answers[0], answers[1], n)
	}
	return held("two concurrent copies answered %s and %s, processed once", answers[0], answers[1])
}

func checkBadInput(ctx context.Context, r *receiverRun) outcome {
	var parts []string
	ok := true
	for _, b := range []struct{ name, body string }{{"non-JSON body", "this is not JSON <xml/>"}, {"empty body", ""}} {
		a := r.send(ctx, r.signed(b.name, r.nextID(), r.opts.Clock.Now(), []byte(b.body)))
		parts = append(parts, b.name+" → "+a.String())
		if a.status == 0 || a.status >= 500 {
			ok = false
		}
	}
	if !ok {
		return broke("%s: bad input is not a server error (a sender retries a 5xx)", strings.Join(parts, "; "))
	}
	return held("%s", strings.Join(parts, "; "))
}

// largeBody is a 256 KiB JSON event.
func largeBody() []byte {
	const size = 256 << 10
	head, tail := `{"type":"hookrig.conform","data":{"check":"body.large","pad":"`, `"}}`
	return []byte(head + strings.Repeat("x", size-len(head)-len(tail)) + tail)
}

func checkLarge(ctx context.Context, r *receiverRun) outcome {
	body := largeBody()
	a := r.send(ctx, r.signed("256 KiB body", r.nextID(), r.opts.Clock.Now(), body))
	if !a.ok() {
		return broke("a signed %d KiB body answered %s", len(body)>>10, a)
	}
	return held("a signed %d KiB body answered %s in %s", len(body)>>10, a, ms(a.elapsed))
}

func checkCharset(ctx context.Context, r *receiverRun) outcome {
	w := r.fresh("charset", "content-type.charset")
	w.header.Set("Content-Type", "application/json; charset=utf-8")
	a := r.send(ctx, w)
	if !a.ok() {
		return broke("Content-Type: application/json; charset=utf-8 answered %s", a)
	}
	return held("Content-Type: application/json; charset=utf-8 answered %s", a)
}

// load runs the loadgen's open loop at rate for d, signed, and folds
// what it saw into the run's totals for the last two checks.
func (r *receiverRun) load(ctx context.Context, kind string, rate float64, d time.Duration) (*loadgen.Result, error) {
	hdr := append([]loadgen.Header{{Name: "Content-Type", Value: "application/json"}}, r.opts.Header...)
	n := min(uint64(rate*d.Seconds()+0.5), MaxLoadRequests)
	lg, err := loadgen.New(loadgen.Config{
		Target:   loadgen.Target{URL: r.url, Header: hdr},
		Pacer:    loadgen.Constant(rate),
		Duration: d, Requests: n,
		Timeout: r.opts.AckTimeout, Signer: r.signer, Scheme: r.scheme, Clock: r.opts.Clock, RealTime: true,
		IDPrefix: r.nextID() + "_" + kind + "_", EventType: "hookrig.conform." + kind,
	})
	if err != nil {
		return nil, err
	}
	res, err := lg.Run(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loadSent += res.Requests
	r.loadTimeouts += res.Errors["timeout"]
	r.loadSlowest = max(r.loadSlowest, loadgen.Summarize(res.Uncorrected).Max)
	for st, c := range res.StatusCodes {
		if st >= 300 && st <= 399 {
			r.loadRedirects += c
		}
	}
	return res, nil
}

// latencyLine is a load result's answers and latency, as evidence.
func latencyLine(res *loadgen.Result) string {
	s := loadgen.Summarize(res.Corrected)
	codes := map[int]int{}
	for st, c := range res.StatusCodes {
		codes[st] += int(c)
	}
	line := fmt.Sprintf("%d webhooks at %.0f/s: %s; p50 %s p90 %s p99 %s max %s",
		res.Requests, res.RateRequested, tally(codes), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
	if n := res.ErrorCount(); n > 0 {
		line += fmt.Sprintf("; %d without an answer (%s)", n, errTally(res.Errors))
	}
	return line
}

func checkFast(ctx context.Context, r *receiverRun) outcome {
	res, err := r.load(ctx, "fast", r.opts.FastRate, r.opts.FastDuration)
	if err != nil {
		return skipped("load: %v", err)
	}
	p99 := loadgen.Summarize(res.Corrected).P99
	if p99 > r.opts.FastP99 || res.ErrorCount() > 0 {
		return broke("%s; p99 over %s: acknowledge first, process after", latencyLine(res), ms(r.opts.FastP99))
	}
	return held("%s", latencyLine(res))
}

func checkUnderLoad(ctx context.Context, r *receiverRun) outcome {
	res, err := r.load(ctx, "load", r.opts.LoadRate, r.opts.LoadDuration)
	if err != nil {
		return skipped("load: %v", err)
	}
	var fives uint64
	for st, c := range res.StatusCodes {
		if st >= 500 {
			fives += c
		}
	}
	p99 := loadgen.Summarize(res.Corrected).P99
	if fives > 0 || res.Errors["reset"] > 0 || res.ErrorCount() > 0 || p99 > r.opts.LoadP99 {
		return broke("%s (expected no 5xx, no reset, p99 ≤ %s)", latencyLine(res), ms(r.opts.LoadP99))
	}
	return held("%s", latencyLine(res))
}

func checkWithinTimeout(ctx context.Context, r *receiverRun) outcome {
	r.send(ctx, r.fresh("timeout probe", "ack.within-timeout"))
	r.mu.Lock()
	defer r.mu.Unlock()
	slowest, n := r.loadSlowest, r.loadSent
	var late []string
	for _, a := range r.answers {
		n++
		slowest = max(slowest, a.elapsed)
		if a.elapsed > r.opts.AckTimeout || a.err == "timeout" {
			late = append(late, a.label)
		}
	}
	if r.loadTimeouts > 0 {
		late = append(late, fmt.Sprintf("%d load webhooks", r.loadTimeouts))
	}
	if len(late) > 0 {
		return broke("no answer within %s to: %s (a sender counts each as a failure and retries)", r.opts.AckTimeout, strings.Join(late, ", "))
	}
	return held("all %d webhooks answered within %s (slowest %s)", n, r.opts.AckTimeout, ms(slowest))
}

func checkNoRedirect(ctx context.Context, r *receiverRun) outcome {
	r.send(ctx, r.fresh("redirect probe", "status.no-redirect"))
	r.mu.Lock()
	defer r.mu.Unlock()
	var bad []string
	for _, a := range r.answers {
		if a.status >= 300 && a.status <= 399 {
			bad = append(bad, a.label+" → "+a.String())
		}
	}
	if r.loadRedirects > 0 {
		bad = append(bad, fmt.Sprintf("%d load webhooks → 3xx", r.loadRedirects))
	}
	if len(bad) > 0 {
		return broke("%d answers were redirects, which senders do not follow: %s", len(bad), strings.Join(bad, "; "))
	}
	return held("no 3xx in %d answers", len(r.answers)+int(r.loadSent))
}

// tally writes status counts as "401×9, 400×2", most frequent first.
func tally(codes map[int]int) string {
	type kv struct{ k, v int }
	var kvs []kv
	for k, v := range codes {
		kvs = append(kvs, kv{k, v})
	}
	slices.SortFunc(kvs, func(a, b kv) int { // most frequent first, then by code: the same line every run
		if a.v != b.v {
			return b.v - a.v
		}
		return a.k - b.k
	})
	parts := make([]string, 0, len(kvs))
	for _, e := range kvs {
		name := strconv.Itoa(e.k)
		if e.k == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, e.v))
	}
	return strings.Join(parts, ", ")
}

func errTally(errs map[string]uint64) string {
	var parts []string
	for k, v := range errs {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// ms writes a duration rounded for a report line.
func ms(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
