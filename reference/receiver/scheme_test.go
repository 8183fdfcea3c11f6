package receiver

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// schemeSecret is a secret every scheme accepts: standard and svix read
// the base64 after whsec_, the others key with the string's bytes.
const schemeSecret = secretA

// schemePost signs body with s at the rig's clock (id "" leaves the id
// where the body has it) and posts it.
func (g *rig) schemePost(s webhook.Scheme, id string, body []byte, tamper func(http.Header)) answer {
	g.t.Helper()
	req, err := http.NewRequest("POST", g.srv.URL+"/webhooks", bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	s.Sign(req.Header, id, g.clock.Now(), body)
	req.Header.Set("Content-Type", "application/json")
	if tamper != nil {
		tamper(req.Header)
	}
	return g.do(req)
}

// TestSchemesReceive runs every scheme through the receiver: a signed
// request is accepted and deduplicated by the scheme's id, a tampered body
// is 401, a stale timestamp 400 where the scheme signs one, and slack,
// which has no id, is accepted twice and counted undeduplicated.
func TestSchemesReceive(t *testing.T) {
	for _, name := range webhook.SchemeNames() {
		t.Run(name, func(t *testing.T) {
			g := newRig(t, Config{Scheme: name, Secrets: []string{schemeSecret}})
			s, err := webhook.NewScheme(name, webhook.Options{Secrets: []string{schemeSecret}})
			if err != nil {
				t.Fatal(err)
			}
			d := webhook.Describe(s)
			body := []byte(`{"id":"evt_1","type":"test"}`)
			if a := g.schemePost(s, "evt_1", body, nil); a.Status != 200 || !bytes.Contains(a.Body, []byte(`"duplicate":false`)) {
				t.Fatalf("signed request: %d %s", a.Status, a.Body)
			}
			rc := g.lastReceipt()
			wantID := "evt_1"
			if d.IDFrom.IsNone() {
				wantID = ""
			}
			if !rc.Verified || rc.ID != wantID {
				t.Errorf("receipt %+v, want verified with id %q", rc, wantID)
			}
			second := g.schemePost(s, "evt_1", body, nil)
			wantDup := !d.IDFrom.IsNone()
			if second.Status != 200 || bytes.Contains(second.Body, []byte(`"duplicate":true`)) != wantDup {
				t.Errorf("repeat: %d %s, want duplicate=%v", second.Status, second.Body, wantDup)
			}
			req, _ := http.NewRequest("POST", g.srv.URL+"/webhooks", strings.NewReader(`{"id":"evt_4","x":1}`))
			s.Sign(req.Header, "evt_4", g.clock.Now(), []byte(`{"id":"evt_4","x":2}`))
			if a := g.do(req); a.Status != http.StatusUnauthorized {
				t.Errorf("tampered body: %d %s, want 401", a.Status, a.Body)
			}
			if d.Tolerance > 0 {
				req, _ := http.NewRequest("POST", g.srv.URL+"/webhooks", bytes.NewReader(body))
				s.Sign(req.Header, "evt_1", g.clock.Now().Add(-time.Hour), body)
				if a := g.do(req); a.Status != http.StatusBadRequest {
					t.Errorf("stale timestamp: %d %s, want 400", a.Status, a.Body)
				}
			}
			st := g.r.Stats()
			checkBalance(t, st)
			wantUndedup := uint64(0)
			if d.IDFrom.IsNone() {
				wantUndedup = st.Unique
			}
			if st.Undeduplicated != wantUndedup {
				t.Errorf("undeduplicated %d, want %d", st.Undeduplicated, wantUndedup)
			}
		})
	}
}

// TestSchemeMissingID: a github request signed without X-GitHub-Delivery is
// 400 (the signature is not what is wrong) and counted missing_id.
func TestSchemeMissingID(t *testing.T) {
	g := newRig(t, Config{Scheme: "github", Secrets: []string{"gh-secret"}})
	s, _ := webhook.NewScheme("github", webhook.Options{Secrets: []string{"gh-secret"}})
	a := g.schemePost(s, "d-1", []byte(`{}`), func(h http.Header) { h.Del(webhook.GitHubDeliveryHeader) })
	if a.Status != http.StatusBadRequest || !strings.Contains(a.errorText(), webhook.GitHubDeliveryHeader) {
		t.Errorf("no delivery id: %d %q, want 400 naming %s", a.Status, a.errorText(), webhook.GitHubDeliveryHeader)
	}
	if st := g.r.Stats(); st.RejectedBy.MissingID != 1 {
		t.Errorf("missing_id %d, want 1", st.RejectedBy.MissingID)
	}
}

// TestIDFromJSON: a convoy sender that mints its own X-Convoy-Event-ID per
// attempt but carries hookrig's id in the body is deduplicated by the body
// id when IDFrom says so; a body without it is 400.
func TestIDFromJSON(t *testing.T) {
	src, err := webhook.ParseIDSource("json:data.hookrig_id")
	if err != nil {
		t.Fatal(err)
	}
	g := newRig(t, Config{Scheme: "convoy", IDFrom: src, Secrets: []string{"whsec_convoy"}})
	s, _ := webhook.NewScheme("convoy", webhook.Options{Secrets: []string{"whsec_convoy"}})
	body := []byte(`{"data":{"hookrig_id":"msg_7"}}`)
	if a := g.schemePost(s, "convoy-a", body, nil); a.Status != 200 {
		t.Fatalf("first: %d %s", a.Status, a.Body)
	}
	if a := g.schemePost(s, "convoy-b", body, nil); !bytes.Contains(a.Body, []byte(`"duplicate":true`)) {
		t.Errorf("same body id under a new convoy id: %d %s, want a duplicate", a.Status, a.Body)
	}
	if rc := g.lastReceipt(); rc.ID != "msg_7" {
		t.Errorf("receipt id %q, want msg_7", rc.ID)
	}
	a := g.schemePost(s, "convoy-c", []byte(`{"data":{}}`), nil)
	if a.Status != http.StatusBadRequest || !strings.Contains(a.errorText(), "data.hookrig_id") {
		t.Errorf("no body id: %d %q, want 400 naming data.hookrig_id", a.Status, a.errorText())
	}
}
