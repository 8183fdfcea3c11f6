package conform

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// senderFlaws are the bugs a toy sender written here can have.
type senderFlaws struct {
	extraToken        bool // appends " t=<ts>" to webhook-signature
	signWrongBody     bool // signs the body with a trailing newline it does not send
	staleStamp        bool // stamps attempts 10 minutes in the past
	newIDPerRetry     bool // mints a new webhook-id for every retry
	bodyPerAttempt    bool // writes the attempt number into the body
	noRetryOn500      bool // gives up on a 500
	timeoutIsFinal    bool // gives up on a timeout
	noRetryOnReset    bool // gives up on a transport error other than a timeout
	retryOn200        bool // sends a delivered event once more
	constantGaps      bool // retries every 150 ms
	noJitter          bool // exact exponential backoff
	ignoreRetryAfter  bool
	retryAfter429Only bool // honours Retry-After on a 429 only
	// retryAfterPerEvent: a 429 delays only its own event, which comes
	// back exactly at its Retry-After (refused together, back together);
	// the endpoint is neither paused nor paced.
	retryAfterPerEvent bool
	followRedirects    bool
	maxAttempts        int  // 0: 12
	retry410           bool // treats 410 as any failure
	// ownIDs is no flaw: the sender mints its own webhook-id per event
	// (toy_N) and carries hookrig's id in the payload, at data.hookrig_id.
	ownIDs bool
}

// toySender emits an event per POST /emit {"id","url"} and delivers it
// with retries, as a small real sender would, flaws included.
type toySender struct {
	f      senderFlaws
	secret webhook.Secret
	client *http.Client
	ctx    context.Context
	wg     sync.WaitGroup

	mu       sync.Mutex
	minted   int // ids of its own, with ownIDs
	rnd      *rand.Rand
	disabled bool // an endpoint answered 410
	// Endpoint throttling, by URL: a 429 with Retry-After pauses the
	// endpoint until then, and from then on its attempts are paced.
	pausedUntil map[string]time.Time
	nextSlot    map[string]time.Time // zero: not paced
}

// toyPace is the toy's pace for a throttled endpoint: 10 attempts a
// second.
const toyPace = 100 * time.Millisecond

func newToySender(t *testing.T, f senderFlaws) *httptest.Server {
	sec, err := webhook.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &toySender{f: f, secret: sec, ctx: ctx, rnd: rand.New(rand.NewPCG(1, 2)),
		pausedUntil: map[string]time.Time{}, nextSlot: map[string]time.Time{}}
	s.client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}} // generous: a loaded test machine must not turn answers into timeouts
	if !f.followRedirects {
		s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if s.f.maxAttempts == 0 {
		s.f.maxAttempts = 12
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); cancel(); s.wg.Wait() })
	return srv
}

func (s *toySender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct{ ID, URL string }
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.ID == "" || ev.URL == "" {
		http.Error(w, "want {\"id\",\"url\"}", http.StatusBadRequest)
		return
	}
	s.wg.Go(func() { s.deliver(ev.ID, ev.URL) })
	w.WriteHeader(http.StatusAccepted)
}

// deliver makes the attempts of one event.
func (s *toySender) deliver(id, target string) {
	body := `{"type":"toy.event","id":"` + id + `"}`
	if s.f.ownIDs {
		body = `{"type":"toy.event","data":{"hookrig_id":"` + id + `"}}`
		s.mu.Lock()
		s.minted++
		id = "toy_" + strconv.Itoa(s.minted)
		s.mu.Unlock()
	}
	delivered := 0
	for n := 1; n <= s.f.maxAttempts; n++ {
		s.mu.Lock()
		off := s.disabled && !s.f.retry410
		s.mu.Unlock()
		if off {
			return
		}
		if !s.f.retryAfterPerEvent {
			select {
			case <-time.After(s.admit(target)): // the endpoint's pause and pace
			case <-s.ctx.Done():
				return
			}
		}
		status, retryAfter, err := s.attempt(id, target, body, n)
		if status == http.StatusTooManyRequests && retryAfter > 0 && !s.f.retryAfterPerEvent && !s.f.ignoreRetryAfter {
			s.mu.Lock()
			s.pausedUntil[target] = time.Now().Add(retryAfter)
			s.nextSlot[target] = s.pausedUntil[target]
			s.mu.Unlock()
		}
		var ue *url.Error
		timeout := errors.As(err, &ue) && ue.Timeout()
		switch {
		case err != nil && timeout && s.f.timeoutIsFinal, err != nil && !timeout && s.f.noRetryOnReset:
			return
		case err != nil:
		case status >= 200 && status <= 299:
			delivered++
			if !s.f.retryOn200 || delivered > 1 {
				return
			}
		case status == http.StatusGone && !s.f.retry410:
			s.mu.Lock()
			s.disabled = true
			s.mu.Unlock()
			return
		case status == http.StatusInternalServerError && s.f.noRetryOn500:
			return
		}
		delay := s.backoff(n)
		if retryAfter > 0 && !s.f.ignoreRetryAfter && !(s.f.retryAfter429Only && status != http.StatusTooManyRequests) {
			delay = max(delay, retryAfter)
		}
		select {
		case <-time.After(delay): // the sender's own retry timer
		case <-s.ctx.Done():
			return
		}
	}
}

// admit takes the endpoint's next free slot and says how long to wait for
// it: until its pause ends, one attempt per toyPace once it was throttled.
func (s *toySender) admit(target string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	at := now
	if p := s.pausedUntil[target]; p.After(at) {
		at = p
	}
	if slot, paced := s.nextSlot[target]; paced {
		if slot.After(at) {
			at = slot
		}
		s.nextSlot[target] = at.Add(toyPace)
	}
	return at.Sub(now)
}

func (s *toySender) backoff(n int) time.Duration {
	exp := min(100*time.Millisecond<<(n-1), time.Second)
	switch {
	case s.f.constantGaps:
		return 150 * time.Millisecond
	case s.f.noJitter:
		return exp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.rnd.Int64N(int64(exp)) + 1)
}

func (s *toySender) attempt(id, target, body string, n int) (int, time.Duration, error) {
	if s.f.bodyPerAttempt {
		body = strings.TrimSuffix(body, "}") + `,"attempt":` + strconv.Itoa(n) + `}`
	}
	if s.f.newIDPerRetry && n > 1 {
		id += "_retry" + strconv.Itoa(n)
	}
	at := time.Now()
	if s.f.staleStamp {
		at = at.Add(-10 * time.Minute)
	}
	signed := body
	if s.f.signWrongBody {
		signed += "\n"
	}
	sig := s.secret.Sign(id, at.Unix(), []byte(signed))
	if s.f.extraToken {
		sig += " t=" + strconv.FormatInt(at.Unix(), 10)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set(webhook.HeaderID, id)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(ra) * time.Second, nil
}

// gradeToy runs Sender against a toy sender with flaws f, on a short
// test schedule, attempts told apart by idFrom.
func gradeToy(t *testing.T, f senderFlaws, idFrom webhook.IDSource) verdict.Conformance {
	t.Helper()
	toy := newToySender(t, f)
	trig, err := scenarios.ParseTrigger(`POST `+toy.URL+`/emit {"id":"{{.ID}}","url":"{{.Endpoint}}"}`, "--trigger")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Sender(ctx, SenderOptions{Secret: testSecret, Clock: clock.Real{}, Trigger: trig, Listener: ln, IDFrom: idFrom,
		RetryWindow: 12 * time.Second, RetryAfter: time.Second, Outage: time.Second, Settle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Each broken sender is caught by its own check and by no other MUST
// check; a SHOULD flaw warns and leaves the run passed.
func TestBrokenSendersCaughtByTheirCheck(t *testing.T) {
	cases := []struct {
		check string
		f     senderFlaws
	}{
		{"sign.headers", senderFlaws{extraToken: true}},
		{"sign.valid", senderFlaws{signWrongBody: true}},
		{"sign.fresh-per-attempt", senderFlaws{staleStamp: true}},
		{"id.stable-across-retries", senderFlaws{newIDPerRetry: true}},
		{"body.stable-across-retries", senderFlaws{bodyPerAttempt: true}},
		{"retry.on-5xx", senderFlaws{noRetryOn500: true}},
		{"retry.on-timeout", senderFlaws{timeoutIsFinal: true}},
		{"retry.on-connection-reset", senderFlaws{noRetryOnReset: true}},
		{"success.no-retry", senderFlaws{retryOn200: true}},
		{"retry.backoff", senderFlaws{constantGaps: true}},
		{"retry.jitter", senderFlaws{noJitter: true}},
		{"retry-after.429", senderFlaws{ignoreRetryAfter: true}},
		{"retry-after.503", senderFlaws{retryAfter429Only: true}},
		{"throttle.endpoint-level", senderFlaws{retryAfterPerEvent: true}},
		{"redirect.not-followed", senderFlaws{followRedirects: true}},
		{"no-loss.outage", senderFlaws{maxAttempts: 2}},
		{"gone.410-stops", senderFlaws{retry410: true}},
	}
	levels := map[string]verdict.Level{}
	for _, r := range SenderRules() {
		levels[r.ID] = r.Level
	}
	for _, tc := range cases {
		t.Run(tc.check, func(t *testing.T) {
			t.Parallel() // each waits on its sender's timers, not the CPU
			rep := gradeToy(t, tc.f, webhook.IDSource{})
			want := verdict.Grade(levels[tc.check], false)
			for _, c := range rep.Checks {
				if c.ID == tc.check {
					t.Logf("%s %s: %s", c.ID, c.Status, c.Evidence)
				}
				switch {
				case c.ID == tc.check && c.Status != want:
					t.Errorf("%s: %s, want %s: %s", c.ID, c.Status, want, c.Evidence)
				case c.ID != tc.check && c.Status == verdict.CheckFail:
					t.Errorf("%s also failed: %s", c.ID, c.Evidence)
				}
			}
			if t.Failed() {
				t.Log(dump(rep))
			}
		})
	}
}

// A sender that mints its own webhook-ids but carries hookrig's id in the
// payload is graded with IDFrom json:data.hookrig_id: every check passes;
// when it also mints a new webhook-id per retry, id.stable-across-retries
// catches it by the payload's id, and no other MUST check fails. Without
// IDFrom its attempts cannot be told apart and id.unique fails.
func TestSenderOwnIDsMatchedByIDFrom(t *testing.T) {
	src := webhook.IDInJSON("data.hookrig_id")
	cases := []struct {
		name   string
		f      senderFlaws
		idFrom webhook.IDSource
		fail   string // the MUST check that fails; "" none
	}{
		{"own ids, id-from", senderFlaws{ownIDs: true}, src, ""},
		{"new id per retry, id-from", senderFlaws{ownIDs: true, newIDPerRetry: true}, src, "id.stable-across-retries"},
		{"own ids, no id-from", senderFlaws{ownIDs: true}, webhook.IDSource{}, "id.unique"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits on its sender's timers, not the CPU
			rep := gradeToy(t, tc.f, tc.idFrom)
			failed := map[string]bool{}
			for _, c := range rep.Checks {
				if c.Status == verdict.CheckFail {
					failed[c.ID] = true
				}
			}
			switch {
			case tc.fail == "" && (len(failed) > 0 || !rep.Passed):
				t.Errorf("checks failed: %v\n%s", failed, dump(rep))
			case tc.fail != "" && !failed[tc.fail]:
				t.Errorf("%s did not fail: %v\n%s", tc.fail, failed, dump(rep))
			case tc.fail != "" && tc.idFrom.IsNone():
				// Without IDFrom every attempt is a stranger: several id
				// checks fail, which is the point.
			case tc.fail != "" && len(failed) != 1:
				t.Errorf("want only %s to fail, got %v\n%s", tc.fail, failed, dump(rep))
			}
			for _, c := range rep.Checks {
				if tc.fail == "" && c.ID == "id.unique" && !strings.Contains(c.Evidence, "told apart by json:data.hookrig_id") {
					t.Errorf("id.unique evidence %q does not name the id source", c.Evidence)
				}
			}
		})
	}
}
