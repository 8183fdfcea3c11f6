package fault

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestFleetEndpoint(t *testing.T) {
	for path, want := range map[string][2]string{
		"/fleet/sick/3/webhooks": {"sick-3", "sick"},
		"/fleet/sick/3":          {"sick-3", "sick"},
		"/fleet/a_b/12/x/y":      {"a_b-12", "a_b"},
		"/fleet/sick/03/x":       {"", ""},
		"/fleet/sick/0/x":        {"", ""},
		"/fleet/sick/x3/x":       {"", ""},
		"/fleet//3/x":            {"", ""},
		"/fleet/sick":            {"", ""},
		"/webhooks":              {"", ""},
		"/fleetx/sick/3":         {"", ""},
	} {
		if name, group := FleetEndpoint(path); name != want[0] || group != want[1] {
			t.Errorf("%s: got %q, %q; want %q, %q", path, name, group, want[0], want[1])
		}
	}
	if p := FleetPath("sick", 3); p != "/fleet/sick/3" {
		t.Errorf("FleetPath = %q", p)
	}
}

// A match names the endpoint and its group, read from the path.
func TestMatchEndpoint(t *testing.T) {
	rs, err := Compile([]RuleSpec{
		{Name: "one", Match: `endpoint.name == "sick-2"`, Fault: []byte(`{"type": "status", "code": 500}`)},
		{Name: "group", Match: `endpoint.group == "sick"`, Fault: []byte(`{"type": "status", "code": 503}`)},
		{Name: "outside", Match: `endpoint.name == "" && endpoint.group == ""`, Fault: []byte(`{"type": "status", "code": 502}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for path, want := range map[string]string{
		"/fleet/sick/2/webhooks": "one", "/fleet/sick/1/webhooks": "group", "/fleet/well/2/webhooks": "", "/webhooks": "outside",
	} {
		_, r := rs.Choose(Request{Method: "POST", Path: path}, time.Second, rnd)
		got := ""
		if r != nil {
			got = r.Name()
		}
		if got != want {
			t.Errorf("%s: rule %q, want %q", path, got, want)
		}
	}
	if _, err := Compile([]RuleSpec{{Name: "x", Match: `endpoint.colour == "red"`, Fault: []byte(`{"type": "reset"}`)}}); err == nil {
		t.Error("an unknown endpoint field compiled")
	}
}
