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

// The instances' tables reach the HTML page and the JUnit properties too,
// one row per instance; a run without them shows neither.
func TestInstancesInHTMLAndJUnit(t *testing.T) {
	plain := sample(t, 7)
	if h, j := render(t, plain, HTML), render(t, plain, JUnit); strings.Contains(h, "<h2>Instances</h2>") || strings.Contains(j, `"sender.`) {
		t.Fatal("a run without instances reports them")
	}
	r := sample(t, 7)
	r.Instances = &verdict.Instances{
		Sender:   []verdict.SenderInstance{{Name: "sender-1", Attempts: 60}, {Name: "sender-2", Attempts: 34, Interrupted: 2}},
		Receiver: []verdict.ReceiverInstance{{Name: "receiver-1", Served: 48}},
	}
	h := render(t, r, HTML)
	for _, want := range []string{"<h2>Instances</h2>", `<td>sender-2</td><td class="n">34</td><td class="n">2</td>`,
		`<td>all</td><td class="n">94</td>`, `<td>receiver-1</td><td class="n">48</td>`, "its lease expired"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	j := render(t, r, JUnit)
	for _, want := range []string{`name="sender.sender-2" value="attempts 34, interrupted 2"`, `name="sender.all" value="attempts 94, interrupted 2"`,
		`name="receiver.receiver-1" value="served 48"`} {
		if !strings.Contains(j, want) {
			t.Errorf("JUnit lacks %s", want)
		}
	}
}
