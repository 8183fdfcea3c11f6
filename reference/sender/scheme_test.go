package sender

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// An endpoint with "scheme": NAME is delivered to signed as that provider
// signs: the receiver's verification with the same scheme accepts every
// attempt and finds the event id where the scheme keeps it.
func TestEndpointSchemes(t *testing.T) {
	for _, name := range webhook.SchemeNames() {
		t.Run(name, func(t *testing.T) {
			verify, err := webhook.NewScheme(name, webhook.Options{Secrets: []string{testSecret}})
			if err != nil {
				t.Fatal(err)
			}
			type seen struct {
				v   webhook.Verified
				err error
			}
			fake := clock.NewFake(t0)
			got := make(chan seen, 10)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				v, err := verify.Verify(r.Header, body, fake.Now())
				got <- seen{v, err}
			}))
			defer srv.Close()
			h := openHarness(t, t.TempDir(), Config{Clock: fake})
			h.Start(context.Background())
			ep, err := h.CreateEndpoint(EndpointSpec{URL: srv.URL, Secret: testSecret, Scheme: name, Policy: quickPolicy(1)})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "", false: name}[name == webhook.DefaultScheme]; ep.Scheme != want {
				t.Errorf("endpoint scheme %q, want %q", ep.Scheme, want)
			}
			spec := ev(ep.ID, "", `{"id":"evt_scheme_1","type":"test.event"}`)
			spec.ID = "evt_scheme_1"
			h.enqueue(t, spec)
			h.untilFinal(t, 1)
			var s seen
			select {
			case s = <-got:
			case <-time.After(wait):
				t.Fatal("no delivery")
			}
			if s.err != nil {
				t.Fatalf("%s verification refused the sender's request: %v", name, s.err)
			}
			wantID := "evt_scheme_1"
			if name == "slack" {
				wantID = ""
			}
			if s.v.ID != wantID {
				t.Errorf("verified id %q, want %q", s.v.ID, wantID)
			}
		})
	}
}

func TestEndpointSchemeRefused(t *testing.T) {
	h := openHarness(t, t.TempDir(), Config{})
	_, err := h.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:9/hook", Scheme: "carrier-pigeon"})
	if err == nil || !strings.Contains(err.Error(), `scheme "carrier-pigeon"`) || !strings.Contains(err.Error(), "stripe") {
		t.Errorf("err = %v, want it to name the scheme and the known ones", err)
	}
	// A non-whsec secret is the provider's own for github, refused for standard.
	if _, err := h.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:9/hook", Scheme: "github", Secret: "It's a Secret to Everybody"}); err != nil {
		t.Errorf("github secret: %v", err)
	}
	if _, err := h.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:9/hook", Secret: "It's a Secret to Everybody"}); err == nil {
		t.Error("standard with a non-whsec secret was accepted")
	}
}
