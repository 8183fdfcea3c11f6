package conform

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/verdict"
)

// TestReferenceReceiverPassesEveryScheme grades hookrig's receiver set to
// each scheme: nothing fails, and exactly the checks that cannot apply are
// skipped, each saying why.
func TestReferenceReceiverPassesEveryScheme(t *testing.T) {
	for _, name := range webhook.SchemeNames() {
		t.Run(name, func(t *testing.T) {
			rcv, err := receiver.New(receiver.Config{Scheme: name, Secrets: []string{testSecret}, Clock: clock.Real{}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(rcv.Handler())
			defer srv.Close()
			defer rcv.Close()
			opts := testOptions(srv.URL + "/v1/receipts")
			opts.Scheme = Scheme(name)
			opts.Skip = []string{"ack.fast", "ack.under-load"} // graded by the standard run; here the signing matters
			rep := grade(t, srv.URL+"/webhooks", opts)
			s, _ := webhook.NewScheme(name, webhook.Options{Secrets: []string{testSecret}})
			d := webhook.Describe(s)
			wantSkip := map[string]string{"ack.fast": "left out", "ack.under-load": "left out"}
			if d.Tolerance == 0 {
				for _, id := range []string{"timestamp.stale-rejected", "timestamp.future-rejected", "timestamp.tolerance-kept"} {
					wantSkip[id] = "signs no timestamp"
				}
			}
			if d.IDFrom.IsNone() {
				wantSkip["idempotency.processed-once"] = "no event id"
			}
			if name == "github" || name == "shopify" || name == "slack" || name == "convoy-simple" {
				wantSkip["signature.rotation"] = "one signature per webhook"
			}
			for _, c := range rep.Checks {
				why, skip := wantSkip[c.ID]
				switch {
				case skip && (c.Status != verdict.CheckSkip || !strings.Contains(c.Evidence, why)):
					t.Errorf("%s: %s %q, want skipped saying %q", c.ID, c.Status, c.Evidence, why)
				case !skip && c.Status != verdict.CheckPass:
					t.Errorf("%s: %s, want pass: %s", c.ID, c.Status, c.Evidence)
				}
			}
			inv := byID(rep)["signature.invalid-rejected"].Evidence
			if !d.SignsID && !d.IDFrom.IsNone() && !strings.Contains(inv, "replayed under a new id") {
				t.Errorf("signature.invalid-rejected does not state the unsigned id's replay risk: %s", inv)
			}
			if t.Failed() || testing.Verbose() {
				t.Log(dump(rep))
			}
		})
	}
}
