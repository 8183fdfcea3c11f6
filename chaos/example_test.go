package chaos_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hookrig/hookrig/chaos"
	"github.com/hookrig/hookrig/chaos/fault"
)

// A proxy in front of a test server: the first delivery attempt of every
// webhook gets a 503 with Retry-After, the retry goes through.
func Example() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "received", r.Header.Get("webhook-id"))
	}))
	defer receiver.Close()

	specs, err := fault.ParseRules([]byte(`
rules:
  - name: first-attempt-fails
    match: attempt == 1
    fault: {type: status, code: 503, headers: {Retry-After: 2}}
`), "rules.yaml")
	if err != nil {
		panic(err)
	}
	rules, err := fault.Compile(specs)
	if err != nil {
		panic(err)
	}
	proxy, err := chaos.New(chaos.Config{Upstream: receiver.URL, Rules: rules, Seed: 1})
	if err != nil {
		panic(err)
	}
	if err := proxy.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer proxy.Close()

	for attempt := 1; attempt <= 2; attempt++ {
		req, _ := http.NewRequest("POST", proxy.URL()+"/webhooks", strings.NewReader(`{"type":"invoice.paid"}`))
		req.Header.Set("webhook-id", "msg_1")
		req.Header.Set("webhook-attempt", fmt.Sprint(attempt))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("attempt %d: %d (Retry-After %q)\n", attempt, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, r := range proxy.Stats().Rules {
		fmt.Printf("rule %s: matched %d, injected %d\n", r.Name, r.Matched, r.Injected)
	}
	for _, a := range proxy.Attempts(0) {
		fmt.Printf("%s attempt %d: upstream %d, client %d %s\n", a.EventID, a.Attempt, a.UpstreamStatus, a.ClientStatus, a.Fault)
	}
	// Output:
	// attempt 1: 503 (Retry-After "2")
	// attempt 2: 200 (Retry-After "")
	// rule first-attempt-fails: matched 1, injected 1
	// msg_1 attempt 1: upstream 0, client 503 status
	// msg_1 attempt 2: upstream 200, client 200
}
