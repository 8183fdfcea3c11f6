package scenarios

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml/ast"

	"github.com/hookrig/hookrig/internal/yamlnode"
	"github.com/hookrig/hookrig/reference/webhook"
)

// The raw shapes mirror the YAML exactly; go-yaml decodes them strictly
// (unknown keys and wrong types are errors with positions), then build()
// checks what types cannot say.
type rawScenario struct {
	Name        Field[string]          `yaml:"name"`
	Description string                 `yaml:"description"`
	Seed        Field[uint64]          `yaml:"seed"`
	Scheme      Field[string]          `yaml:"scheme"`
	IDFrom      Field[string]          `yaml:"id_from"`
	Sender      *rawSender             `yaml:"sender"`
	Receiver    *rawReceiver           `yaml:"receiver"`
	Load        *rawLoad               `yaml:"load"`
	Faults      Field[[]rawNode]       `yaml:"faults"`
	Endpoints   Field[[]rawGroup]      `yaml:"endpoints"`
	Spread      Field[string]          `yaml:"spread"`
	Drain       *rawDrain              `yaml:"drain"`
	Assertions  Field[[]Field[string]] `yaml:"assertions"`
}

type rawSender struct {
	Policy    *rawNode          `yaml:"policy"`
	Workers   Field[int]        `yaml:"workers"`
	Instances Field[int]        `yaml:"instances"`
	Store     Field[string]     `yaml:"store"`
	Crashes   Field[[]rawCrash] `yaml:"crashes"`
	Trigger   *rawTrigger       `yaml:"trigger"`
}

type rawCrash struct {
	At       Field[time.Duration] `yaml:"at"`
	Instance Field[int]           `yaml:"instance"`
	Down     Field[time.Duration] `yaml:"down"`
}

type rawTrigger struct {
	Method  string            `yaml:"method"`
	URL     Field[string]     `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    Field[string]     `yaml:"body"`
}

type rawReceiver struct {
	URL        Field[string]        `yaml:"url"`
	Processing *rawProcessing       `yaml:"processing"`
	DedupeTTL  Field[time.Duration] `yaml:"dedupe_ttl"`
	Instances  Field[int]           `yaml:"instances"`
	Dedupe     Field[string]        `yaml:"dedupe"`
}

type rawProcessing struct {
	Duration     Field[time.Duration] `yaml:"duration"`
	FailureRatio Field[float64]       `yaml:"failure_ratio"`
	BeforeAck    bool                 `yaml:"before_ack"`
}

type rawLoad struct {
	Phases       Field[[]rawPhase] `yaml:"phases"`
	Keys         Field[int]        `yaml:"keys"`
	PayloadBytes Field[int]        `yaml:"payload_bytes"`
	Payloads     *rawPayloads      `yaml:"payloads"`
}

type rawPhase struct {
	Name     string               `yaml:"name"`
	Pacer    Field[string]        `yaml:"pacer"`
	Start    Field[time.Duration] `yaml:"start"`
	Duration Field[time.Duration] `yaml:"duration"`
	pos      Pos                  // the phase's own, for what it leaves out
}

// decodeNode decodes a phase and notes where it was written.
func (p *rawPhase) decodeNode(d *decoder, n ast.Node, path string) {
	type plain rawPhase // the same keys, without this method
	d.mapping(n, reflect.ValueOf((*plain)(p)).Elem(), path)
	p.pos = posOf(n)
}

type rawDrain struct {
	Timeout    Field[time.Duration] `yaml:"timeout"`
	KeepFaults bool                 `yaml:"keep_faults"`
	// AllowPending lets a run end with events still pending and pass.
	AllowPending bool `yaml:"allow_pending"`
}

// rawNode keeps a subtree as it was written, for parts whose schema
// belongs to another package (chaos rules, sender policy).
type rawNode struct {
	node ast.Node
}

func (r *rawNode) decodeNode(_ *decoder, n ast.Node, _ string) { r.node = n }

// json renders the subtree as JSON for the owning package's decoder.
func (r *rawNode) json() (json.RawMessage, error) {
	if r.node == nil { // left empty ("-" alone): go-yaml never called UnmarshalYAML
		return json.RawMessage("null"), nil
	}
	var v any
	if err := yamlnode.Decode(r.node, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Defaults applied when the file leaves a value out.
const (
	defaultDrainTimeout = 30 * time.Second
	defaultPayloadBytes = 256
)

// Parse reads and validates one scenario. filename is used in error
// messages (file:line:column). Every problem found is returned, as Errors.
func Parse(data []byte, filename string) (*Scenario, error) {
	s, errs := parse(data)
	if len(errs) > 0 {
		for _, e := range errs {
			e.File = filename
		}
		return nil, errs
	}
	s.File = filename
	s.Source = append([]byte(nil), data...)
	return s, nil
}

func parse(data []byte) (*Scenario, Errors) {
	start := Pos{Line: 1, Col: 1}
	file, err := yamlnode.Parse(data)
	if err != nil {
		return nil, Errors{fromYAMLAt(err, start)}
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return nil, Errors{errorAt(start, "empty scenario: expected a mapping with at least name and load")}
	}
	// Every problem is collected: what the decoder finds (unknown keys,
	// wrong types) and what the builder checks on the values it could
	// read, in file order.
	body := file.Docs[0].Body
	d := newDecoder(body)
	var raw rawScenario
	d.decode(body, reflect.ValueOf(&raw).Elem(), "")
	b := &builder{}
	s := b.build(&raw, orPos(posOf(body), start))
	return s, sortErrors(append(d.errs, b.errs...), len(d.errs))
}

// fromYAMLAt is fromYAML, placed at p when the error says no place.
func fromYAMLAt(err error, p Pos) *Error {
	e := fromYAML(err)
	e.Pos = orPos(e.Pos, p)
	return e
}

type builder struct {
	errs     Errors
	top      Pos   // the document's first key
	crashPos []Pos // where each sender crash was written
}

// errorf records a problem at p; one with no place of its own (an empty
// list item) is put at the document's start rather than nowhere.
func (b *builder) errorf(p Pos, format string, args ...any) {
	b.errs = append(b.errs, errorAt(orPos(p, b.top), format, args...))
}

func (b *builder) build(raw *rawScenario, top Pos) *Scenario {
	b.top = top
	s := &Scenario{Name: raw.Name.V, Description: strings.TrimSpace(raw.Description), Seed: raw.Seed.V}
	if !raw.Name.Set || strings.TrimSpace(raw.Name.V) == "" {
		b.errorf(top, "missing name: every scenario needs a name")
	} else if strings.ContainsAny(raw.Name.V, " \t/") {
		b.errorf(raw.Name.Pos, "name %q: use letters, digits, '-' and '_' (no spaces or slashes)", raw.Name.V)
	}
	if !raw.Seed.Set {
		s.Seed = 1
	}
	b.scheme(raw, s)
	b.sender(raw.Sender, &s.Sender)
	b.receiver(raw.Receiver, &s.Receiver)
	b.load(raw.Load, top, &s.Load)
	s.Drain.Timeout = defaultDrainTimeout
	if raw.Drain != nil {
		s.Drain.KeepFaults = raw.Drain.KeepFaults
		s.Drain.AllowPending = raw.Drain.AllowPending
		if raw.Drain.Timeout.Set {
			s.Drain.Timeout = b.positive(raw.Drain.Timeout, "drain.timeout")
		}
	}
	s.Faults = b.rules(raw.Faults, s, "faults")
	b.endpoints(raw, s)
	if len(s.Endpoints.Groups) > 0 && raw.Endpoints.Set {
		if raw.Sender != nil && (raw.Sender.Instances.Set || raw.Sender.Store.Set) {
			b.errorf(orPos(raw.Sender.Instances.Pos, raw.Sender.Store.Pos), "sender.instances and sender.store: not supported with a fleet (endpoints:) yet; run the fleet on one sender with its bbolt outbox")
		}
		if raw.Receiver != nil && (raw.Receiver.Instances.Set || raw.Receiver.Dedupe.Set) {
			b.errorf(orPos(raw.Receiver.Instances.Pos, raw.Receiver.Dedupe.Pos), "receiver.instances and receiver.dedupe: not supported with a fleet (endpoints:) yet; a fleet has one reference receiver per group")
		}
	}
	for i, c := range s.Sender.Crashes {
		if c.At >= s.LoadEnd() && s.LoadEnd() > 0 {
			b.errorf(b.crashPos[i], "sender crash at %s is after the load ends (%s): it would test nothing", c.At, s.LoadEnd())
		}
	}
	for _, a := range raw.Assertions.V {
		a.Pos = orPos(a.Pos, raw.Assertions.Pos) // a bare "-" has none
		expr := strings.TrimSpace(a.V)
		if expr == "" {
			b.errorf(a.Pos, "empty assertion: expected a boolean expression such as `lost == 0`")
			continue
		}
		prog, err := compileAssertion(expr)
		if err != nil {
			b.errs = append(b.errs, assertionError(a.Pos, expr, err))
			continue
		}
		b.checkGroupRefs(a, expr, s)
		s.Assertions = append(s.Assertions, Assertion{Expr: expr, pos: a.Pos, program: prog})
	}
	return s
}

// scheme checks the signature scheme and the id source the run signs,
// verifies and matches deliveries with; "" leaves them to the runner
// (Standard Webhooks and webhook-id unless its flags say otherwise).
func (b *builder) scheme(raw *rawScenario, s *Scenario) {
	if raw.Scheme.Set {
		name := strings.ToLower(strings.TrimSpace(raw.Scheme.V))
		if !slices.Contains(webhook.SchemeNames(), name) {
			b.errorf(raw.Scheme.Pos, "scheme: unknown signature scheme %q; expected one of %s", raw.Scheme.V, strings.Join(webhook.SchemeNames(), ", "))
		} else {
			s.Scheme = name
		}
	}
	if raw.IDFrom.Set {
		src, err := webhook.ParseIDSource(raw.IDFrom.V)
		if err != nil {
			b.errorf(raw.IDFrom.Pos, "id_from: %v", err)
		}
		s.IDFrom = src
	}
}

func (b *builder) positive(f Field[time.Duration], what string) time.Duration {
	if f.V <= 0 {
		b.errorf(f.Pos, "%s: %s is not a positive duration (e.g. 30s)", what, f.V)
		return 0
	}
	return f.V
}

func (b *builder) nonNegative(f Field[time.Duration], what string) time.Duration {
	if f.V < 0 {
		b.errorf(f.Pos, "%s: %s is negative; expected a duration of 0 or more", what, f.V)
		return 0
	}
	return f.V
}

func (b *builder) sender(raw *rawSender, s *Sender) {
	if raw == nil {
		return
	}
	if raw.Policy != nil {
		js, err := raw.Policy.json()
		if err != nil {
			b.errs = append(b.errs, fromYAML(err))
		} else if p, err := parsePolicy(js); err != nil {
			b.subtreeError(raw.Policy.node, "sender.policy", err)
		} else {
			s.Policy = &p
		}
	}
	if raw.Workers.Set && raw.Workers.V <= 0 {
		b.errorf(raw.Workers.Pos, "sender.workers: %d; expected a positive number", raw.Workers.V)
	}
	s.Workers = raw.Workers.V
	b.senderInstances(raw, s)
	for i, c := range raw.Crashes.V {
		what := fmt.Sprintf("sender.crashes[%d]", i)
		where := orPos(c.At.Pos, orPos(c.Instance.Pos, orPos(c.Down.Pos, raw.Crashes.Pos)))
		c.Down.Pos = orPos(c.Down.Pos, where)
		b.crashPos = append(b.crashPos, where)
		at := b.nonNegative(c.At, what+".at")
		down := b.nonNegative(c.Down, what+".down")
		if !c.At.Set {
			b.errorf(c.Down.Pos, "%s: missing at (when to kill the sender)", what)
		}
		s.Crashes = append(s.Crashes, Crash{At: at, Down: down, Instance: b.crashInstance(c, s, what, where)})
	}
	if t := raw.Trigger; t != nil {
		if len(raw.Crashes.V) > 0 {
			b.errorf(t.URL.Pos, "sender.trigger drives your own sender; sender.crashes only applies to hookrig's reference sender")
		}
		if raw.Instances.Set || raw.Store.Set {
			b.errorf(orPos(raw.Instances.Pos, raw.Store.Pos), "sender.trigger drives your own sender; sender.instances and sender.store only apply to hookrig's reference sender")
		}
		s.Trigger = &Trigger{Method: strings.ToUpper(t.Method), URL: t.URL.V, Headers: t.Headers, Body: t.Body.V}
		if s.Trigger.Method == "" {
			s.Trigger.Method = "POST"
		}
		if !t.URL.Set || t.URL.V == "" {
			b.checkURL(t.URL, "sender.trigger.url")
		} else if err := s.Trigger.Check(); err != nil {
			p := t.URL.Pos
			if strings.HasPrefix(err.Error(), "body:") && t.Body.Set {
				p = t.Body.Pos
			}
			b.errorf(p, "sender.trigger: %v", err)
		}
	}
}

// senderInstances reads how many reference sender instances run and where
// their outbox is: several instances share one only in PostgreSQL (a
// bbolt file belongs to one process).
func (b *builder) senderInstances(raw *rawSender, s *Sender) {
	if raw.Store.Set {
		switch v := strings.ToLower(strings.TrimSpace(raw.Store.V)); v {
		case StoreBbolt, StorePostgres:
			s.Store = v
		default:
			b.errorf(raw.Store.Pos, "sender.store: %q; expected %s (a file, one process) or %s (shared by instances)", raw.Store.V, StoreBbolt, StorePostgres)
		}
	}
	if !raw.Instances.Set {
		return
	}
	s.Instances = raw.Instances.V
	switch n := raw.Instances.V; {
	case n < 1:
		b.errorf(raw.Instances.Pos, "sender.instances: %d; expected 1 or more", n)
		s.Instances = 0
	case n > maxInstances:
		b.errorf(raw.Instances.Pos, "sender.instances: %d; expected at most %d (each is a sender with its own workers and database connections)", n, maxInstances)
	case n > 1 && s.Store != StorePostgres:
		b.errorf(raw.Instances.Pos, "sender.instances: %d instances need store: %s (a bbolt outbox is one process's file)", n, StorePostgres)
	}
}

// maxInstances bounds the instances of a live run: each sender holds a
// pool of database connections (PostgreSQL allows 100 by default).
const maxInstances = 8

// crashInstance checks which instance a crash kills. With several, the
// crash must say: killing them all at once is a different scenario
// (crash each, at the same time).
func (b *builder) crashInstance(c rawCrash, s *Sender, what string, where Pos) int {
	n := s.SenderInstances()
	if !c.Instance.Set {
		if n > 1 {
			b.errorf(where, "%s: missing instance: the sender has %d instances; say which one to kill (instance: 1 to %d)", what, n, n)
		}
		return 0
	}
	if i := c.Instance.V; i < 1 || i > n {
		b.errorf(c.Instance.Pos, "%s.instance: %d; expected 1 to %d (sender.instances)", what, i, n)
		return 0
	}
	return c.Instance.V
}

func (b *builder) checkURL(f Field[string], what string) {
	if !f.Set || f.V == "" {
		b.errorf(f.Pos, "%s: missing; expected an http:// or https:// URL", what)
		return
	}
	u, err := url.Parse(f.V)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Templates may sit in the URL; only the shape is checked.
		if !strings.Contains(f.V, "{{") {
			b.errorf(f.Pos, "%s: %q is not an http:// or https:// URL", what, f.V)
		}
	}
}

func (b *builder) receiver(raw *rawReceiver, r *Receiver) {
	if raw == nil {
		return
	}
	b.receiverAt(raw, r, "receiver")
}

// receiverAt reads a receiver written at what ("receiver", or a fleet
// group's "endpoints[0] (sick).receiver").
func (b *builder) receiverAt(raw *rawReceiver, r *Receiver, what string) {
	if raw.URL.Set {
		b.checkURL(raw.URL, what+".url")
		r.URL = raw.URL.V
	}
	if p := raw.Processing; p != nil {
		if raw.URL.Set {
			b.errorf(raw.URL.Pos, "%s.processing configures hookrig's reference receiver; it cannot apply to your own endpoint at %s.url", what, what)
		}
		r.Processing.Duration = b.nonNegative(p.Duration, what+".processing.duration")
		if p.FailureRatio.V < 0 || p.FailureRatio.V > 1 {
			b.errorf(p.FailureRatio.Pos, "%s.processing.failure_ratio: %g; expected a number from 0 to 1", what, p.FailureRatio.V)
		}
		r.Processing.FailureRatio = p.FailureRatio.V
		r.Processing.BeforeAck = p.BeforeAck
	}
	if raw.DedupeTTL.Set {
		r.DedupeTTL = b.positive(raw.DedupeTTL, what+".dedupe_ttl")
	}
	b.receiverInstances(raw, r, what)
}

// receiverInstances reads how many reference receiver instances answer
// behind the run's balancer and where they keep their dedupe window.
func (b *builder) receiverInstances(raw *rawReceiver, r *Receiver, what string) {
	if raw.URL.Set && (raw.Instances.Set || raw.Dedupe.Set) {
		b.errorf(orPos(raw.Instances.Pos, raw.Dedupe.Pos), "%s.instances and %s.dedupe configure hookrig's reference receivers; they cannot apply to your own endpoint at %s.url", what, what, what)
		return
	}
	if raw.Dedupe.Set {
		switch v := strings.ToLower(strings.TrimSpace(raw.Dedupe.V)); v {
		case DedupeMemory, StorePostgres:
			r.Dedupe = v
		default:
			b.errorf(raw.Dedupe.Pos, "%s.dedupe: %q; expected %s (each instance its own window) or %s (shared by instances)", what, raw.Dedupe.V, DedupeMemory, StorePostgres)
		}
	}
	if !raw.Instances.Set {
		return
	}
	r.Instances = raw.Instances.V
	switch n := raw.Instances.V; {
	case n < 1:
		b.errorf(raw.Instances.Pos, "%s.instances: %d; expected 1 or more", what, n)
		r.Instances = 0
	case n > maxInstances:
		b.errorf(raw.Instances.Pos, "%s.instances: %d; expected at most %d", what, n, maxInstances)
	case n > 1 && r.Dedupe != StorePostgres:
		b.errorf(raw.Instances.Pos, "%s.instances: %d instances need dedupe: %s, or a retry landing on another instance is not caught as a duplicate", what, n, StorePostgres)
	}
}

func (b *builder) load(raw *rawLoad, top Pos, l *Load) {
	if raw == nil || len(raw.Phases.V) == 0 {
		b.errorf(top, "missing load.phases: expected at least one phase with a pacer and a duration")
		return
	}
	if raw.Keys.V < 0 {
		b.errorf(raw.Keys.Pos, "load.keys: %d; expected 0 (a key per event) or more", raw.Keys.V)
	}
	l.Keys = raw.Keys.V
	l.PayloadBytes = defaultPayloadBytes
	if raw.PayloadBytes.Set {
		if raw.PayloadBytes.V < 0 || raw.PayloadBytes.V > 1<<20 {
			b.errorf(raw.PayloadBytes.Pos, "load.payload_bytes: %d; expected 0 to 1048576", raw.PayloadBytes.V)
		}
		l.PayloadBytes = raw.PayloadBytes.V
	}
	b.payloads(raw, l)
	var end time.Duration
	names := map[string]bool{}
	for i, rp := range raw.Phases.V {
		// What a phase leaves out is reported at the phase, or (a bare
		// "-" has no position of its own) at the list.
		at := orPos(rp.pos, raw.Phases.Pos)
		rp.Pacer.Pos, rp.Duration.Pos = orPos(rp.Pacer.Pos, at), orPos(rp.Duration.Pos, at)
		p := Phase{Name: rp.Name, Pacer: strings.TrimSpace(rp.Pacer.V), pos: rp.Pacer.Pos, pacerPos: rp.Pacer.Pos}
		if p.Name == "" {
			p.Name = fmt.Sprintf("phase-%d", i+1)
		}
		if names[p.Name] {
			b.errorf(rp.Pacer.Pos, "load.phases[%d]: name %q is used twice", i, p.Name)
		}
		names[p.Name] = true
		what := fmt.Sprintf("load.phases[%d] (%s)", i, p.Name)
		if !rp.Pacer.Set || p.Pacer == "" {
			b.errorf(rp.Duration.Pos, "%s: missing pacer; expected e.g. constant:100", what)
		}
		if !rp.Duration.Set {
			b.errorf(rp.Pacer.Pos, "%s: missing duration; expected e.g. 10s", what)
		} else {
			p.Duration = b.positive(rp.Duration, what+".duration")
		}
		if p.Pacer != "" {
			if err := checkPacer(p.Pacer, p.Duration); err != nil {
				b.errorf(rp.Pacer.Pos, "%s: %v", what, err)
			}
		}
		p.Start = end
		if rp.Start.Set {
			start := b.nonNegative(rp.Start, what+".start")
			if start < end {
				b.errorf(rp.Start.Pos, "%s: starts at %s, inside the previous phase (which runs until %s); phases run one after another", what, start, end)
			}
			p.Start = max(start, end)
		}
		end = p.End()
		l.Phases = append(l.Phases, p)
	}
}

// rules reads chaos rules written at path ("faults", or a fleet group's
// "endpoints[0] (sick).faults"), checks their timeline against the load
// and has the chaos package validate each rule.
func (b *builder) rules(raws Field[[]rawNode], s *Scenario, path string) []Fault {
	var out []Fault
	names := map[string]bool{}
	for i, rn := range raws.V {
		p := orPos(posOf(rn.node), raws.Pos) // a bare "-" has no node
		js, err := rn.json()
		if err != nil {
			b.errs = append(b.errs, fromYAMLAt(err, p))
			continue
		}
		if string(js) == "null" {
			b.errorf(p, "%s[%d]: empty; expected a rule mapping (name, match, probability, fault, after, for)", path, i)
			continue
		}
		var head struct {
			Name any `json:"name"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			b.errorf(p, "%s[%d]: got %s, expected a rule mapping (name, match, probability, fault, after, for)", path, i, nodeWords(rn.node))
			continue
		}
		name, isText := head.Name.(string)
		if head.Name != nil && !isText {
			b.errorf(orPos(keyPos(rn.node, "name"), p), "fault rule #%d (%s[%d]): name: got %v, expected a word (quote it if it is a number: name: \"%v\")", i+1, path, i, head.Name, head.Name)
			continue
		}
		if strings.TrimSpace(name) == "" {
			b.errorf(p, "fault rule #%d (%s[%d]) has no name: every rule needs name: <word>, e.g. name: flaky-503", i+1, path, i)
			continue
		}
		if names[name] {
			b.errorf(p, "%s[%d]: name %q is used twice", path, i, name)
		}
		names[name] = true
		spec, err := ruleSpec(js)
		if err != nil {
			b.subtreeError(rn.node, fmt.Sprintf("%s[%d] (%s)", path, i, name), err)
			continue
		}
		f := Fault{Name: spec.Name, Spec: js, Rule: spec, After: time.Duration(spec.After), For: time.Duration(spec.For), pos: p}
		switch end := s.LoadEnd(); {
		case end == 0:
		case f.After >= end+s.Drain.Timeout:
			b.errorf(p, "%s[%d] (%s): starts at %s, after the run ends (load %s + drain %s): it would never fire", path, i, f.Name, f.After, end, s.Drain.Timeout)
		case f.After >= end && !s.Drain.KeepFaults:
			b.errorf(p, "%s[%d] (%s): starts at %s, after the load ends (%s), and faults are off during the drain: set drain.keep_faults: true to keep them", path, i, f.Name, f.After, end)
		}
		out = append(out, f)
	}
	return out
}

// subtreeError reports a problem that the package owning a subtree's
// schema found (chaos in a fault rule, the sender in its policy). Those
// packages read JSON rendered from the YAML, so their messages carry JSON
// positions and Go types; here the message is put at the key it is about,
// in the scenario's words, under what (e.g. "sender.policy").
func (b *builder) subtreeError(n ast.Node, what string, err error) {
	// One line: expr's caret drawing under a match is dropped (its
	// first line says the column).
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg = jsonPlace.ReplaceAllString(msg, "")
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "policy: "), "policy.")
	key := ""
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		key = m[1]
	} else if m := goField.FindStringSubmatch(msg); m != nil {
		key = snakeCase(m[2])
		msg = fmt.Sprintf("%s: got a %s, expected %s", key, m[1], typeWords(m[3]))
	} else if m := leadingKey.FindStringSubmatch(msg); m != nil {
		key = m[1] + m[3] // whichever form matched
	}
	if m := jsonType.FindStringSubmatch(msg); m != nil {
		msg = strings.Replace(msg, m[0], fmt.Sprintf("got a %s, expected %s", m[1], typeWords(m[2])), 1)
	}
	p := posOf(n)
	if key != "" {
		p = orPos(keyPos(n, key), p)
	}
	b.errorf(p, "%s: %s", what, msg)
}

var (
	// `:1:50: rule "a": ` — chaos's place in the JSON and the rule's
	// name, both said already by the scenario's message.
	jsonPlace    = regexp.MustCompile(`^(:\d+:\d+: )?(rule "[^"]*": )?`)
	unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)
	goField      = regexp.MustCompile(`cannot unmarshal (\w+) into Go struct field \w+\.(\w+) of type \*?(\S+)`)
	jsonType     = regexp.MustCompile(`got JSON (\w+), expected \*?(\w+)`)
	// "after: ...", "backoff.base: ...", "fault status: field code: ..."
	leadingKey = regexp.MustCompile(`^(?:fault \w+: field (\w+)|([a-z_.]*\.)?([a-z_]+)):`)
)

// keyPos finds where key is written in the subtree n (the first such key,
// depth first), or the zero Pos.
func keyPos(n ast.Node, key string) Pos {
	var found Pos
	ast.Walk(keyFinder{key: key, found: &found}, n)
	return found
}

type keyFinder struct {
	key   string
	found *Pos
}

func (k keyFinder) Visit(n ast.Node) ast.Visitor {
	if k.found.Line != 0 {
		return nil
	}
	if mv, ok := n.(*ast.MappingValueNode); ok && keyText(mv.Key) == k.key {
		*k.found = posOf(mv.Key)
		return nil
	}
	return k
}

// snakeCase turns a Go field name into its JSON key (RetryAfterMax →
// retry_after_max), as the owning packages' tags spell them.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
