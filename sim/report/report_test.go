package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim/verdict"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// sample is a run of a flaky endpoint with an outage window, built
// through the real checker from seeded records.
func sample(t testing.TB, seed uint64) *verdict.Result {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 1))
	c := verdict.NewChecker(t0)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	const n = 3000
	for i := range n {
		id := fmt.Sprintf("evt_%05d", i)
		acc := time.Duration(i) * 30 * time.Second / n
		phase := "warmup"
		if acc >= 10*time.Second {
			phase = "steady"
		}
		must(c.Accept(verdict.Accepted{ID: id, Key: fmt.Sprintf("cust-%d", i%20), Seq: uint64(i), At: t0.Add(acc), Phase: phase}))
		at := acc + time.Duration(rnd.IntN(20))*time.Millisecond
		for try := 1; ; try++ {
			down := at >= 12*time.Second && at < 18*time.Second
			if down || rnd.IntN(10) == 0 {
				c.Attempt(verdict.AttemptRec{ID: id, N: try, At: t0.Add(at), Status: 503, Fault: "status"})
				at += time.Duration(200+rnd.IntN(2000)) * time.Millisecond * time.Duration(try)
				continue
			}
			c.Attempt(verdict.AttemptRec{ID: id, N: try, At: t0.Add(at), Status: 200})
			break
		}
		switch {
		case i%500 == 7:
			must(c.Final(verdict.Final{ID: id, State: verdict.StateDelivered})) // the receiver dropped it
		case i%700 == 9:
			must(c.Final(verdict.Final{ID: id, State: verdict.StateDeadLettered, Reason: "max attempts reached"}))
		default:
			c.Receipt(verdict.ReceiptRec{ID: id, At: t0.Add(at + 2*time.Millisecond), Status: 200, Verified: true})
			if i%97 == 0 {
				c.Receipt(verdict.ReceiptRec{ID: id, At: t0.Add(at + time.Second), Status: 200, Verified: true, Duplicate: true})
			}
			must(c.Final(verdict.Final{ID: id, State: verdict.StateDelivered}))
		}
	}
	c.Receipt(verdict.ReceiptRec{ID: "forged_1", At: t0.Add(5 * time.Second), Status: 401})
	r := c.Result(verdict.RunInfo{
		Scenario: "outage-recovery", Description: "The endpoint is down for 6 s, then comes back: a retry storm.",
		Mode: verdict.ModeVirtual, Seed: seed, TraceHash: "5e1f0c2a9b7d",
		LoadEnd: 30 * time.Second, End: 45 * time.Second,
		Phases: []verdict.PhaseWindow{{Name: "warmup", End: 10 * time.Second}, {Name: "steady", Start: 10 * time.Second, End: 30 * time.Second}},
		Faults: []verdict.FaultWindow{{Rule: "endpoint-down", Fault: "status", Start: 12 * time.Second, End: 18 * time.Second}},
	})
	r.SetAssertions([]verdict.Assertion{
		{Expr: "lost == 0", Passed: r.Events.Lost == 0, Message: fmt.Sprintf("false: lost = %d", r.Events.Lost)},
		{Expr: `delivery.p99 < duration("30s")`, Passed: true},
		{Expr: "attempts.per_event.max <= 8 && x < \"<&>\"", Passed: false, Message: "false: attempts.per_event.max = 9 <&>"},
	})
	r.Replay = fmt.Sprintf("hookrig sim outage-recovery --seed %d", seed)
	r.WallTime = 250 * time.Millisecond
	r.SpeedUp = 180
	return r
}

func render(t *testing.T, r *verdict.Result, f Format) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, f); err != nil {
		t.Fatalf("Render %s: %v", f, err)
	}
	return b.String()
}

func TestTextReport(t *testing.T) {
	r := sample(t, 1)
	out := render(t, r, Text)
	if os.Getenv("HOOKRIG_SHOW_REPORT") != "" {
		t.Log("\n" + out)
	}
	e := r.Events
	for _, want := range []string{
		"hookrig · scenario outage-recovery · virtual run, seed 1",
		"FAIL  2 of 3 assertions failed",
		fmt.Sprintf("%d accepted · %d delivered · %d lost", e.Accepted, e.Delivered, e.Lost),
		fmt.Sprintf("  lost            %9d", e.Lost),
		"never acknowledged",
		"Time to delivery (acceptance → first acknowledged receipt)",
		"p50 ",
		"retry amplification",
		"Timeline: 0 s to 45 s, one column = 1 s",
		"  faults     │",
		"A  endpoint-down (status) from 12 s to 18 s",
		"Fault windows",
		"Phases",
		"  PASS  delivery.p99 < duration(\"30s\")",
		"  FAIL  lost == 0",
		"        false: lost = ",
		"evt_00007 evt_00507",
		"forged_1",
		"seed 1 · trace 5e1f0c2a9b7d · wall time 250 ms · 180× real time",
		"replay: hookrig sim outage-recovery --seed 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	if e.Lost == 0 || e.Duplicated == 0 || e.DeadLettered == 0 {
		t.Fatalf("sample has no bad events to show: %+v", e)
	}
	// The histogram's rows add up to every delivered event.
	var sum int64
	inHist := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "at most"):
			inHist = true
		case inHist && strings.TrimSpace(line) == "":
			inHist = false
		case inHist:
			f := strings.Fields(line)
			var n int64
			fmt.Sscan(f[len(f)-2], &n)
			sum += n
		}
	}
	if sum != e.Delivered {
		t.Errorf("latency histogram rows sum to %d, want %d delivered", sum, e.Delivered)
	}
}

func TestTextReportWithoutAssertionsOrDeliveries(t *testing.T) {
	r := verdict.NewChecker(t0).Result(verdict.RunInfo{Scenario: "empty", Mode: verdict.ModeLive})
	out := render(t, r, Text)
	for _, want := range []string{"DONE  no assertions to check", "nothing was delivered", "none (add some"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "wall time") {
		t.Error("footer shows a wall time the runner did not set")
	}
}

func TestJSONIsByteStableAndRoundTrips(t *testing.T) {
	a, b := render(t, sample(t, 7), JSON), render(t, sample(t, 7), JSON)
	if a != b {
		t.Fatal("the same run gave different JSON")
	}
	if c := render(t, sample(t, 8), JSON); c == a {
		t.Fatal("a different seed gave the same JSON")
	}
	for _, forbidden := range []string{"2026", "wall", "speed"} {
		if strings.Contains(strings.ToLower(a), forbidden) {
			t.Errorf("JSON holds %q: it must not depend on the wall clock", forbidden)
		}
	}
	r, err := ReadJSON([]byte(a), "result.json")
	if err != nil {
		t.Fatal(err)
	}
	if again := render(t, r, JSON); again != a {
		t.Error("JSON changed on a round trip")
	}
	// The re-read result renders the same text, less the footer's wall
	// time and speed-up, which the JSON leaves out.
	orig := sample(t, 7)
	orig.WallTime, orig.SpeedUp = 0, 0
	if render(t, r, Text) != render(t, orig, Text) {
		t.Error("text from the saved result differs from the original's")
	}
	for _, key := range []string{`"schema": "hookrig.result/v1"`, `"accepted": 3000`, `"duplicate_deliveries"`, `"dead_lettered"`,
		`"latency_ms": {`, `"delivery": {`, `"p90"`, `"amplification"`, `"per_event"`, `"assertions": [`, `"trace_hash": "5e1f0c2a9b7d"`, `"delivery_us": "`} {
		if !strings.Contains(a, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestReadJSONErrors(t *testing.T) {
	good := render(t, sample(t, 1), JSON)
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "  ", "empty file"},
		{"malformed", "{\n  \"schema\": \"hookrig.result/v1\",\n  \"seed\": x\n}", "line 3, column 11"},
		{"wrong type", `{"seed": "one"}`, "seed"},
		{"unknown field", `{"schema": "hookrig.result/v1", "colour": 1}`, "colour"},
		{"no schema", `{"seed": 1}`, "not a hookrig result"},
		{"other version", `{"schema": "hookrig.result/v9"}`, "hookrig.result/v9"},
		{"bad histogram", strings.Replace(good, `"delivery_us": "`, `"delivery_us": "@@`, 1), "delivery_us"},
		{"trailing data", good + "{}", "after the JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSON([]byte(tc.data), "r.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "r.json: ") {
				t.Errorf("err = %v, want one naming r.json and containing %q", err, tc.want)
			}
		})
	}
}

func TestJUnitIsValidXML(t *testing.T) {
	r := sample(t, 3)
	out := render(t, r, JUnit)
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Class   string `xml:"classname,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
			Out string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Error("no XML declaration")
	}
	if doc.Tests != 3 || doc.Failures != 2 || len(doc.Suites) != 1 {
		t.Fatalf("tests %d failures %d suites %d, want 3, 2, 1", doc.Tests, doc.Failures, len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != "hookrig.outage-recovery" || s.Tests != 3 || s.Failures != 2 || len(s.Cases) != 3 {
		t.Fatalf("suite = %s, %d tests, %d failures, %d cases", s.Name, s.Tests, s.Failures, len(s.Cases))
	}
	for i, a := range r.Assertions {
		c := s.Cases[i]
		if c.Name != a.Expr || (c.Failure == nil) != a.Passed {
			t.Errorf("case %d = %q failure %v; want %q passed %v", i, c.Name, c.Failure != nil, a.Expr, a.Passed)
		}
		if c.Failure != nil && (c.Failure.Message != a.Message || !strings.Contains(c.Failure.Text, "replay: hookrig sim")) {
			t.Errorf("case %d failure = %+v", i, c.Failure)
		}
	}
	if !strings.Contains(s.Out, "FAIL  2 of 3 assertions failed") {
		t.Error("system-out lacks the text report")
	}
	props := map[string]string{}
	for _, p := range s.Props {
		props[p.Name] = p.Value
	}
	if props["seed"] != "3" || props["lost"] != fmt.Sprint(r.Events.Lost) {
		t.Errorf("properties = %v", props)
	}
}

func TestJUnitWithoutAssertionsHasOnePassingCase(t *testing.T) {
	out := render(t, verdict.NewChecker(t0).Result(verdict.RunInfo{Scenario: "x"}), JUnit)
	if !strings.Contains(out, `tests="1" failures="0"`) || !strings.Contains(out, "<testcase name=\"scenario ran") {
		t.Errorf("JUnit without assertions:\n%s", out)
	}
}

func TestHTMLHasChartsAndEscapes(t *testing.T) {
	r := sample(t, 4)
	r.Description = `<script>alert("x")</script>`
	out := render(t, r, HTML)
	if os.Getenv("HOOKRIG_SHOW_REPORT") != "" {
		os.WriteFile(os.Getenv("HOOKRIG_SHOW_REPORT"), []byte(out), 0o644)
	}
	if n := strings.Count(out, "<svg"); n != 4 {
		t.Errorf("HTML has %d SVG charts, want 4 (the percentile distribution too)", n)
	}
	for _, want := range []string{"Time to delivery (acceptance → first acknowledged receipt)", "Per second over the run",
		"Attempts per event", "Percentile distribution (HDR)", "endpoint-down", "FAIL  2 of 3 assertions failed", "evt_00007", "&lt;script&gt;", "&lt;&amp;&gt;"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(out, `<script>alert`) || strings.Contains(out, "<?xml") {
		t.Error("HTML holds unescaped input or an XML prolog inside the page")
	}
	if strings.Contains(out, "http://") && strings.Contains(out, `src="http`) {
		t.Error("HTML loads something from the network")
	}
	// A run with nothing in it still renders.
	empty := render(t, verdict.NewChecker(t0).Result(verdict.RunInfo{Scenario: "empty"}), HTML)
	if !strings.Contains(empty, "Nothing was delivered") {
		t.Error("empty HTML report lacks its placeholder")
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats() {
		if g, err := ParseFormat(string(f)); err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("pdf"); err == nil || !strings.Contains(err.Error(), "text, json, junit, html") {
		t.Errorf("ParseFormat(pdf) err = %v", err)
	}
}
