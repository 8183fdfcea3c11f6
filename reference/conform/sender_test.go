package conform

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// A short test schedule: the checks are the same as with a real one, the
// waits shrink (retries within a second, a 1 s Retry-After, a 1 s outage).
func testSenderPolicy() delivery.Policy {
	return delivery.Policy{
		Backoff:     delivery.Backoff{Base: 100 * time.Millisecond, Factor: 2, Cap: 2 * time.Second},
		MaxAttempts: 12, MaxAge: time.Hour, RetryAfterMax: 10 * time.Second,
		AttemptTimeout: 2 * time.Second, Concurrency: 32,
	}
}

// hookrig's reference sender, driven through its ingest API by a trigger,
// passes every sender check, throttle.endpoint-level included (its
// endpoint-wide pause and pacing).
func TestReferenceSenderPassesEveryCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snd, err := sender.Open(sender.Config{DataDir: t.TempDir(), DefaultPolicy: testSenderPolicy(), Clock: clock.Real{}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	snd.Start(ctx)
	api := httptest.NewServer(snd.Handler())
	defer func() { api.Close(); snd.Close() }()
	ep, err := snd.CreateEndpoint(sender.EndpointSpec{URL: "http://" + ln.Addr().String() + "/hook", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	trig, err := scenarios.ParseTrigger(`POST `+api.URL+`/v1/events {"id":"{{.ID}}","endpoint":"`+ep.ID+`","type":"{{.Type}}","payload":{"n":{{.Seq}},"at":"{{.Time}}"}}`, "--trigger")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Sender(ctx, SenderOptions{
		Secret: testSecret, Clock: clock.Real{}, Trigger: trig, Listener: ln,
		RetryWindow: 20 * time.Second, RetryAfter: time.Second, Outage: time.Second, Settle: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		t.Logf("%-28s %-6s %-4s %s", c.ID, c.Level, c.Status, c.Evidence)
		if c.Status != verdict.CheckPass {
			t.Errorf("%s: %s, want pass", c.ID, c.Status)
		}
	}
	if !rep.Passed || rep.Target != verdict.ConformSender {
		t.Errorf("passed %v target %q", rep.Passed, rep.Target)
	}
}
