package receiver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// blockingStep is a processing Func the test steers: it says when a step
// starts and waits for the test to let it finish.
type blockingStep struct {
	entered chan string
	release chan error
}

func newBlockingStep() *blockingStep {
	return &blockingStep{entered: make(chan string, 16), release: make(chan error, 16)}
}

func (b *blockingStep) fn(ctx context.Context, d Delivery) error {
	b.entered <- d.Receipt.ID
	select {
	case err := <-b.release:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// postAsync sends a webhook and delivers the answer on a channel.
func (g *rig) postAsync(id string) <-chan answer {
	req := g.webhookReq("/async", id, []byte(`{}`))
	c := make(chan answer, 1)
	go func() {
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			c <- answer{Status: -1, Body: []byte(err.Error())}
			return
		}
		resp.Body.Close()
		c <- answer{Status: resp.StatusCode, Header: resp.Header}
	}()
	return c
}

// The ack arrives while processing is still blocked: it went out first.
func TestFastAckBeforeProcessing(t *testing.T) {
	step := newBlockingStep()
	g := newRig(t, Config{Processing: ProcessingConfig{Func: step.fn, Workers: 2}})
	a := g.post("msg_fast", 1) // returns only once the answer is here
	if a.Status != 200 {
		t.Fatalf("status %d", a.Status)
	}
	if id := <-step.entered; id != "msg_fast" {
		t.Fatalf("processing got %q", id)
	}
	if s := g.r.Stats(); s.Processing.Done != 0 || s.Processing.Pending != 1 {
		t.Fatalf("acknowledged before processing, but stats say %+v", s.Processing)
	}
	step.release <- nil
	if err := g.r.Close(); err != nil { // waits for processing to drain
		t.Fatal(err)
	}
	if s := g.r.Stats(); s.Processing.Done != 1 || s.Processing.Pending != 0 {
		t.Fatalf("after Close: %+v", s.Processing)
	}
}

// The simulated step on a fake clock: the ack does not wait for the
// duration after the ack, and waits for it before.
func TestSimulatedDuration(t *testing.T) {
	t.Run("after the ack", func(t *testing.T) {
		g := newRig(t, Config{Processing: ProcessingConfig{Duration: 10 * time.Second}})
		started := g.clock.TimerCreated()
		if a := g.post("msg_1", 1); a.Status != 200 { // no Advance: the ack did not wait
			t.Fatalf("status %d", a.Status)
		}
		<-started
		if s := g.r.Stats(); s.Processing.Done != 0 || s.Processing.Pending != 1 {
			t.Fatalf("%+v", s.Processing)
		}
		g.clock.Advance(10 * time.Second)
		g.r.Close()
		if s := g.r.Stats(); s.Processing.Done != 1 {
			t.Fatalf("%+v", s.Processing)
		}
	})
	t.Run("before the ack", func(t *testing.T) {
		g := newRig(t, Config{Processing: ProcessingConfig{Duration: 10 * time.Second, BeforeAck: true}})
		started := g.clock.TimerCreated()
		answered := g.postAsync("msg_1")
		<-started
		select {
		case a := <-answered:
			t.Fatalf("answered %d before the processing time passed", a.Status)
		default:
		}
		g.clock.Advance(10 * time.Second)
		if a := <-answered; a.Status != 200 {
			t.Fatalf("status %d", a.Status)
		}
		if s := g.r.Stats(); s.Processing.Done != 1 || s.Unique != 1 {
			t.Fatalf("%+v", s)
		}
	})
}

// Before the ack, a failure is answered 500 (the answer depends on the
// outcome, so it cannot have gone out first), the id is released, and the
// retry is processed, not called a duplicate. A repeat arriving while the
// first is still being processed is told to come back (409).
func TestBeforeAckFailureAndConflict(t *testing.T) {
	step := newBlockingStep()
	g := newRig(t, Config{Processing: ProcessingConfig{Func: step.fn, BeforeAck: true}})
	first := g.postAsync("msg_1")
	<-step.entered
	if a := g.post("msg_1", 2); a.Status != 409 || a.Header.Get("Retry-After") != "1" {
		t.Fatalf("repeat while in flight: %d %s", a.Status, a.Body)
	}
	select {
	case a := <-first:
		t.Fatalf("answered %d while processing was blocked", a.Status)
	default:
	}
	step.release <- errors.New("database down")
	if a := <-first; a.Status != 500 {
		t.Fatalf("failed processing answered %d", a.Status)
	}
	retry := g.postAsync("msg_1")
	<-step.entered
	step.release <- nil
	if a := <-retry; a.Status != 200 {
		t.Fatalf("retry answered %d", a.Status)
	}
	rs := g.r.Receipts(0, 0)
	if len(rs) != 3 || rs[0].Status != 409 || rs[1].Status != 500 || rs[1].Error == "" || rs[2].Status != 200 || rs[2].Duplicate {
		t.Fatalf("receipts %+v", rs)
	}
	s := g.r.Stats()
	if s.Conflicts != 1 || s.Failed != 1 || s.Unique != 1 || s.Processing.Failed != 1 || s.Processing.Done != 1 {
		t.Fatalf("stats %+v", s)
	}
	checkBalance(t, s)
}

// Failures are drawn from the seeded source: the same seed gives the same
// failures, so a scenario's outcome can be reproduced.
func TestFailureRatioIsSeeded(t *testing.T) {
	const n, ratio, seed = 200, 0.3, 42
	g := newRig(t, Config{Seed: seed, Processing: ProcessingConfig{FailureRatio: ratio, BeforeAck: true}})
	var got []int
	for i := range n {
		got = append(got, g.post(fmt.Sprintf("msg_%d", i), 1).Status)
	}
	rnd := rand.New(rand.NewPCG(seed, seedStream))
	failures := 0
	for i := range n {
		want := 200
		if rnd.Float64() < ratio {
			want = 500
			failures++
		}
		if got[i] != want {
			t.Fatalf("webhook %d answered %d, want %d", i, got[i], want)
		}
	}
	if failures < 40 || failures > 80 {
		t.Fatalf("%d failures in %d at ratio %v", failures, n, ratio)
	}
	if s := g.r.Stats(); s.Failed != uint64(failures) {
		t.Fatalf("stats %+v", s)
	}
}

// With every worker busy and the queue full, the receiver refuses before
// acknowledging (503, Retry-After) instead of promising work it cannot
// take on; the refused id is not remembered, so its retry is processed.
func TestQueueFullRefusesBeforeTheAck(t *testing.T) {
	step := newBlockingStep()
	g := newRig(t, Config{Processing: ProcessingConfig{Func: step.fn, Workers: 1, Queue: 1}})
	if a := g.post("msg_1", 1); a.Status != 200 {
		t.Fatalf("first: %d", a.Status)
	}
	<-step.entered
	a := g.post("msg_2", 1)
	if a.Status != 503 || a.Header.Get("Retry-After") != "1" {
		t.Fatalf("queue full: %d %s", a.Status, a.Body)
	}
	// A repeat of an acknowledged webhook is still a duplicate, queue or not.
	if a := g.post("msg_1", 2); a.Status != 200 || string(a.Body) != AckDuplicate {
		t.Fatalf("repeat with the queue full: %d %s", a.Status, a.Body)
	}
	step.release <- nil
	// The slot frees once the step has been counted; Close drains it.
	g.r.Close()
	if s := g.r.Stats(); s.Overloaded != 1 || s.Unique != 1 || s.Duplicates != 1 || s.Window != 1 || s.Processing.Done != 1 {
		t.Fatalf("stats %+v", s)
	}
	if rc := g.r.Receipts(1, 1)[0]; rc.ID != "msg_2" || rc.Status != 503 || !rc.Verified {
		t.Fatalf("receipt %+v", rc)
	}
}

// A shutdown that runs out of time cancels the steps still running and
// counts them: acknowledged but never processed.
func TestShutdownAbandonsProcessingPastTheDeadline(t *testing.T) {
	step := newBlockingStep()
	g := newRig(t, Config{Processing: ProcessingConfig{Func: step.fn}})
	g.post("msg_1", 1)
	<-step.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.r.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	if s := g.r.Stats(); s.Processing.Abandoned != 1 || s.Processing.Done != 0 {
		t.Fatalf("%+v", s.Processing)
	}
}
