package report

import (
	"strings"
	"testing"

	"github.com/hookrig/hookrig/sim/verdict"
)

// A run's instances show in the text report and round-trip through the
// JSON; a run without them shows no section and no key.
func TestInstancesInTextAndJSON(t *testing.T) {
	plain := sample(t, 7)
	if txt, js := render(t, plain, Text), render(t, plain, JSON); strings.Contains(txt, "Instances") || strings.Contains(js, `"instances"`) {
		t.Fatal("a run without instances reports them")
	}
	r := sample(t, 7)
	r.Instances = &verdict.Instances{
		Sender:   []verdict.SenderInstance{{Name: "sender-1", Attempts: 60, Interrupted: 0}, {Name: "sender-2", Attempts: 34, Interrupted: 2}},
		Receiver: []verdict.ReceiverInstance{{Name: "receiver-1", Served: 48}, {Name: "receiver-2", Served: 47}},
	}
	txt := render(t, r, Text)
	for _, want := range []string{"\nInstances\n", "sender-2        34            2", "all             94            2", "receiver-2      47"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	js := render(t, r, JSON)
	for _, want := range []string{`"instances": {`, `"name": "sender-2",`, `"interrupted": 2`, `"served": 47`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	back, err := ReadJSON([]byte(js), "result.json")
	if err != nil {
		t.Fatal(err)
	}
	if again := render(t, back, JSON); again != js {
		t.Error("JSON changed on a round trip")
	}
}
