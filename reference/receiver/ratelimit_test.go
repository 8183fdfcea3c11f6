package receiver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Each path has its own bucket: over it a webhook is answered 429 with
// Retry-After before it is read; the bucket refills on the receiver's
// clock.
func TestRateLimitPerPath(t *testing.T) {
	g := newRig(t, Config{RateLimit: RateLimitConfig{PerSecond: 2, Burst: 2, RetryAfter: 3 * time.Second}})
	post := func(path string, n int) answer {
		return g.do(g.webhookReq(path, fmt.Sprintf("evt_%s_%d", strings.ReplaceAll(path, "/", "_"), n), []byte(`{"n":1}`)))
	}
	a, b := "/fleet/x/1/webhooks", "/fleet/x/2/webhooks"
	for n := range 2 {
		if got := post(a, n); got.Status != http.StatusOK && got.Status != http.StatusNoContent {
			t.Fatalf("within the burst: %d %s", got.Status, got.Body)
		}
	}
	over := post(a, 2)
	if over.Status != http.StatusTooManyRequests || over.Header.Get("Retry-After") != "3" || !strings.Contains(over.errorText(), "rate limited") {
		t.Fatalf("over the limit: %d, Retry-After %q, %s", over.Status, over.Header.Get("Retry-After"), over.Body)
	}
	if got := post(b, 0); got.Status == http.StatusTooManyRequests {
		t.Fatal("another path shares the first one's bucket")
	}
	g.clock.Advance(500 * time.Millisecond) // one token back at 2 a second
	if got := post(a, 3); got.Status == http.StatusTooManyRequests {
		t.Fatal("the bucket did not refill on the receiver's clock")
	}
	st := g.r.Stats()
	if st.RateLimited != 1 || st.Received != 5 || st.Rejected != 0 {
		t.Errorf("stats: %+v", st)
	}
	checkBalance(t, st)
	if rc := g.r.Receipts(0, 0); len(rc) != 5 || rc[2].Status != http.StatusTooManyRequests || rc[2].Verified {
		t.Errorf("receipts: %+v (the 429 is journaled, unverified)", rc)
	}
}

func TestRateLimitConfig(t *testing.T) {
	if _, err := New(Config{Secrets: []string{secretA}, RateLimit: RateLimitConfig{PerSecond: -1}}); err == nil {
		t.Error("a negative rate limit was accepted")
	}
	c, err := RateLimitConfig{PerSecond: 2.5}.withDefaults()
	if err != nil || c.Burst != 3 || c.RetryAfter != time.Second {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}
