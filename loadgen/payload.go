package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"text/template"
	"time"
)

// DefaultTemplate is the body sent when no template or file is given: a
// webhook event shaped like the ones Stripe or Svix send, with the event's
// id, sequence, key and time, a few random fields and room for padding.
const DefaultTemplate = `{"type":"{{.Type}}","id":"{{.ID}}","timestamp":"{{.Time}}","data":{"seq":{{.Seq}},"key":"{{.Key}}","amount":{{randInt 1 100000}},"currency":"usd","customer":"cus_{{randHex 14}}","pad":"{{pad}}"}}`

// TemplateHelp documents what a payload template sees; the CLI prints it.
const TemplateHelp = `A template (Go text/template) sees one event:
  {{.ID}} webhook-id, unique per event   {{.Seq}} the event's number in the run
  {{.Key}} ordering key                  {{.Type}} event type
  {{.Timestamp}} Unix seconds at send    {{.Time}} RFC 3339 time at send
  {{.Shard}} shard index
and these functions (random values are seeded by --seed and the event's
number, so an event's body is the same in every run):
  {{randInt MIN MAX}}  {{randHex N}}  {{randString N}}  {{uuid}}
  {{pad}}  filler that brings the body up to --size bytes`

// Event is the data a payload template is executed with.
type Event struct {
	ID        string
	Seq       uint64
	Key       string
	Type      string
	Timestamp int64
	Time      string
	Shard     int
}

// event is the runner's view of one event, in reused buffers.
type event struct {
	id    []byte
	seq   uint64
	key   []byte
	typ   string
	at    time.Time
	shard int
}

// Payload renders request bodies. A template is compiled into literal text
// and slots once, so rendering a body is appending bytes (no reflection, no
// allocation); a template that cannot be expressed that way (one that
// branches on the event's values, say) still works, executed per request.
type Payload struct {
	name   string
	kind   payloadKind
	static []byte
	tmpl   *template.Template // executedTemplate only
	segs   []segment          // compiledTemplate only
	padAt  int                // index of the pad slot in segs, -1 if none
	size   int
	filler []byte
	bodies [][]byte // capturedBodies only
}

// payloadKind says how a Payload renders. It is a field of its own, not
// read off which slice is nil: an empty body or an empty template leaves
// every slice empty, and once sent such a payload down the template path
// with no template to execute.
type payloadKind uint8

const (
	staticBody       payloadKind = iota // the same bytes every time
	compiledTemplate                    // literal text and slots, appended
	executedTemplate                    // text/template executed per request
	capturedBodies                      // a capture's bodies, in turn (capture_payload.go)
)

type slotKind uint8

const (
	litSeg slotKind = iota
	idSlot
	seqSlot
	keySlot
	typeSlot
	timestampSlot
	timeSlot
	shardSlot
	randIntSlot
	randHexSlot
	randStringSlot
	uuidSlot
	padSlot
)

type segment struct {
	kind slotKind
	lit  []byte
	a, b int64
}

// StaticPayload sends the same bytes every time (a body file).
func StaticPayload(body []byte) *Payload {
	return &Payload{name: "body", kind: staticBody, static: append([]byte(nil), body...), padAt: -1}
}

// DefaultPayload renders DefaultTemplate padded to size bytes (0: no
// padding).
func DefaultPayload(size int) *Payload {
	p, err := NewTemplatePayload("default", DefaultTemplate, size)
	if err != nil {
		panic(err) // the default template is part of the program
	}
	return p
}

// NewTemplatePayload parses a template (name appears in error messages, e.g.
// the file name) and checks that it renders. size pads bodies to that many
// bytes where the template says {{pad}}.
func NewTemplatePayload(name, text string, size int) (*Payload, error) {
	if size < 0 {
		return nil, fmt.Errorf("body size %d is negative", size)
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(placeholderFuncs).Parse(text)
	if err != nil {
		return nil, err
	}
	p := &Payload{name: name, kind: executedTemplate, tmpl: t, size: size, padAt: -1, filler: bytes.Repeat([]byte("x"), size)}
	// Render a few events slowly (and so check the template runs at all),
	// then try to compile it and keep the fast form only if it renders the
	// very same bytes.
	samples := make([][]byte, 4)
	r := p.newRenderer(1)
	for i := range samples {
		ev := sampleEvent(uint64(i))
		b, err := r.slow(nil, &ev)
		if err != nil {
			return nil, err
		}
		samples[i] = b
	}
	if size > 0 && !r.padded {
		return nil, fmt.Errorf("%s: a body size needs {{pad}} in the template, to know where the filler goes", name)
	}
	if segs, padAt, ok := compile(t); ok {
		fast := &Payload{name: name, kind: compiledTemplate, size: size, segs: segs, padAt: padAt, filler: p.filler}
		fr := fast.newRenderer(1)
		same := true
		for i := range samples {
			ev := sampleEvent(uint64(i))
			if b, _ := fr.render(nil, &ev); !bytes.Equal(b, samples[i]) {
				same = false
				break
			}
		}
		if same {
			p.kind, p.tmpl, p.segs, p.padAt = compiledTemplate, nil, segs, padAt
		}
	}
	return p, nil
}

// Compiled reports whether bodies are rendered without executing the
// template per request.
func (p *Payload) Compiled() bool { return p.kind != executedTemplate }

// Sample renders the body of event seq, for checks before a run.
func (p *Payload) Sample(seq uint64, seed uint64) ([]byte, error) {
	ev := sampleEvent(seq)
	r := p.newRenderer(seed)
	return r.render(nil, &ev)
}

func sampleEvent(seq uint64) event {
	return event{
		id: []byte("evt_sample_" + strconv.FormatUint(seq, 10)), seq: seq,
		key: []byte("key-" + strconv.FormatUint(seq%16, 10)), typ: "sample.event",
		at: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
	}
}

var placeholderFuncs = template.FuncMap{
	"randInt":    func(min, max int64) (int64, error) { return 0, nil },
	"randHex":    func(n int) (string, error) { return "", nil },
	"randString": func(n int) (string, error) { return "", nil },
	"uuid":       func() string { return "" },
	"pad":        func() string { return "" },
}

// compile executes the template once with marker strings in place of every
// value and function result, and cuts the output at the markers. The caller
// checks the result against real renderings: a template that transforms or
// branches on a value does not survive that check.
func compile(t *template.Template) (segs []segment, padAt int, ok bool) {
	const mark = "\x00hk"
	var slots []segment
	add := func(s segment) string {
		slots = append(slots, s)
		return mark + strconv.Itoa(len(slots)-1) + "\x00"
	}
	c, err := t.Clone()
	if err != nil {
		return nil, -1, false
	}
	c.Funcs(template.FuncMap{
		"randInt": func(min, max int64) (string, error) {
			if err := checkRandInt(min, max); err != nil {
				return "", err
			}
			return add(segment{kind: randIntSlot, a: min, b: max}), nil
		},
		"randHex": func(n int) (string, error) {
			if err := checkRandLen("randHex", n); err != nil {
				return "", err
			}
			return add(segment{kind: randHexSlot, a: int64(n)}), nil
		},
		"randString": func(n int) (string, error) {
			if err := checkRandLen("randString", n); err != nil {
				return "", err
			}
			return add(segment{kind: randStringSlot, a: int64(n)}), nil
		},
		"uuid": func() string { return add(segment{kind: uuidSlot}) },
		"pad":  func() string { return add(segment{kind: padSlot}) },
	})
	data := map[string]any{}
	for name, kind := range map[string]slotKind{"ID": idSlot, "Seq": seqSlot, "Key": keySlot, "Type": typeSlot,
		"Timestamp": timestampSlot, "Time": timeSlot, "Shard": shardSlot} {
		data[name] = add(segment{kind: kind})
	}
	var out bytes.Buffer
	if err := c.Execute(&out, data); err != nil {
		return nil, -1, false
	}
	b := out.Bytes()
	padAt = -1
	for len(b) > 0 {
		i := bytes.Index(b, []byte(mark))
		if i < 0 {
			segs = append(segs, segment{kind: litSeg, lit: append([]byte(nil), b...)})
			break
		}
		if i > 0 {
			segs = append(segs, segment{kind: litSeg, lit: append([]byte(nil), b[:i]...)})
		}
		b = b[i+len(mark):]
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return nil, -1, false
		}
		k, err := strconv.Atoi(string(b[:j]))
		if err != nil || k >= len(slots) {
			return nil, -1, false
		}
		b = b[j+1:]
		if slots[k].kind == padSlot {
			if padAt >= 0 {
				return nil, -1, false // one filler only
			}
			padAt = len(segs)
		}
		segs = append(segs, slots[k])
	}
	return segs, padAt, true
}

// renderer renders bodies for one worker: its own random stream (reseeded
// per event, so an event's random fields depend only on the seed and its
// number) and scratch space.
type renderer struct {
	p     *Payload
	seed  uint64
	pcg   *rand.PCG
	rnd   *rand.Rand
	after []byte
	// slow path
	tmpl   *template.Template
	buf    bytes.Buffer
	pad    int
	padded bool // the template called pad
}

func (p *Payload) newRenderer(seed uint64) *renderer {
	pcg := rand.NewPCG(seed, 0)
	r := &renderer{p: p, seed: seed, pcg: pcg, rnd: rand.New(pcg)}
	if p.kind == executedTemplate {
		r.tmpl = template.Must(p.tmpl.Clone())
		r.tmpl.Funcs(template.FuncMap{
			"randInt": func(min, max int64) (int64, error) {
				if err := checkRandInt(min, max); err != nil {
					return 0, err
				}
				return randIntIn(r.rnd, min, max), nil
			},
			"randHex": func(n int) (string, error) {
				if err := checkRandLen("randHex", n); err != nil {
					return "", err
				}
				return string(appendRandHex(nil, r.rnd, n)), nil
			},
			"randString": func(n int) (string, error) {
				if err := checkRandLen("randString", n); err != nil {
					return "", err
				}
				return string(appendRandString(nil, r.rnd, n)), nil
			},
			"uuid": func() string { return string(appendUUID(nil, r.rnd)) },
			"pad": func() string {
				r.padded = true
				return string(r.p.filler[:r.pad])
			},
		})
	}
	return r
}

// render appends the body of ev to dst. Only a template executed per
// request can fail (on values it did not meet when it was checked).
func (r *renderer) render(dst []byte, ev *event) ([]byte, error) {
	p := r.p
	switch p.kind {
	case staticBody:
		return append(dst, p.static...), nil
	case capturedBodies:
		return append(dst, p.bodies[ev.seq%uint64(len(p.bodies))]...), nil
	case executedTemplate:
		return r.slow(dst, ev)
	}
	r.pcg.Seed(r.seed, ev.seq)
	if p.padAt < 0 {
		for i := range p.segs {
			dst = r.appendSeg(dst, &p.segs[i], ev)
		}
		return dst, nil
	}
	start := len(dst)
	for i := range p.segs[:p.padAt] {
		dst = r.appendSeg(dst, &p.segs[i], ev)
	}
	r.after = r.after[:0]
	for i := p.padAt + 1; i < len(p.segs); i++ {
		r.after = r.appendSeg(r.after, &p.segs[i], ev)
	}
	if n := p.size - (len(dst) - start) - len(r.after); n > 0 {
		dst = append(dst, p.filler[:n]...)
	}
	return append(dst, r.after...), nil
}

func (r *renderer) appendSeg(dst []byte, s *segment, ev *event) []byte {
	switch s.kind {
	case litSeg:
		return append(dst, s.lit...)
	case idSlot:
		return append(dst, ev.id...)
	case seqSlot:
		return strconv.AppendUint(dst, ev.seq, 10)
	case keySlot:
		return append(dst, ev.key...)
	case typeSlot:
		return append(dst, ev.typ...)
	case timestampSlot:
		return strconv.AppendInt(dst, ev.at.Unix(), 10)
	case timeSlot:
		return ev.at.UTC().AppendFormat(dst, time.RFC3339Nano)
	case shardSlot:
		return strconv.AppendInt(dst, int64(ev.shard), 10)
	case randIntSlot:
		return strconv.AppendInt(dst, randIntIn(r.rnd, s.a, s.b), 10)
	case randHexSlot:
		return appendRandHex(dst, r.rnd, int(s.a))
	case randStringSlot:
		return appendRandString(dst, r.rnd, int(s.a))
	case uuidSlot:
		return appendUUID(dst, r.rnd)
	}
	return dst
}

// slow executes the template (twice when it pads: once to measure).
func (r *renderer) slow(dst []byte, ev *event) ([]byte, error) {
	data := Event{
		ID: string(ev.id), Seq: ev.seq, Key: string(ev.key), Type: ev.typ,
		Timestamp: ev.at.Unix(), Time: ev.at.UTC().Format(time.RFC3339Nano), Shard: ev.shard,
	}
	exec := func(pad int) ([]byte, error) {
		r.pcg.Seed(r.seed, ev.seq)
		r.pad = pad
		r.buf.Reset()
		if err := r.tmpl.Execute(&r.buf, data); err != nil {
			return nil, err
		}
		return r.buf.Bytes(), nil
	}
	b, err := exec(0)
	if err != nil {
		return dst, err
	}
	if n := r.p.size - len(b); n > 0 {
		if b, err = exec(n); err != nil {
			return dst, err
		}
	}
	return append(dst, b...), nil
}

// maxRandLen bounds randHex and randString: a typo of a few digits more
// must be an error, not a body the size of the machine's memory.
const maxRandLen = 1 << 20

func checkRandLen(fn string, n int) error {
	if n < 0 || n > maxRandLen {
		return fmt.Errorf("%s %d: want a length from 0 to %d", fn, n, maxRandLen)
	}
	return nil
}

func checkRandInt(min, max int64) error {
	if max < min {
		return fmt.Errorf("randInt %d %d: max below min", min, max)
	}
	return nil
}

// randIntIn draws uniformly from [min, max] (min <= max), the whole int64
// range included (where max-min+1 overflows).
func randIntIn(rnd *rand.Rand, min, max int64) int64 {
	span := uint64(max-min) + 1
	if span == 0 {
		return int64(rnd.Uint64())
	}
	if span <= 1<<63-1 {
		return min + rnd.Int64N(int64(span)) // the draw bodies have always used
	}
	return min + int64(rnd.Uint64N(span))
}

const hexDigits = "0123456789abcdef"
const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func appendRandHex(dst []byte, rnd *rand.Rand, n int) []byte {
	for n > 0 {
		v := rnd.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			dst = append(dst, hexDigits[v&15])
			v >>= 4
			n--
		}
	}
	return dst
}

func appendRandString(dst []byte, rnd *rand.Rand, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, alnum[rnd.IntN(len(alnum))])
	}
	return dst
}

// appendUUID appends a random (version 4) UUID.
func appendUUID(dst []byte, rnd *rand.Rand) []byte {
	var u [16]byte
	a, b := rnd.Uint64(), rnd.Uint64()
	for i := 0; i < 8; i++ {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

func jsonValid(b []byte) bool { return json.Valid(b) }
