package loadgen

import (
	"errors"
	"slices"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/hookrig/hookrig/internal/neterr"
)

// Histogram geometry: microseconds from 1 µs to 60 s at 3 significant
// figures, the and wrk2's choice.
const (
	histMin     = 1
	histMax     = 60_000_000
	histSigFigs = 3
)

func newHist() *hdr.Histogram { return hdr.New(histMin, histMax, histSigFigs) }

// Status classes: latencies are kept per class of answer, and for requests
// that got no HTTP answer at all.
const (
	classNone = iota // no answer: a transport error
	class1xx
	class2xx
	class3xx
	class4xx
	class5xx
	numClasses
)

var classNames = [numClasses]string{"error", "1xx", "2xx", "3xx", "4xx", "5xx"}

func classOf(status int) int {
	if status < 100 || status > 599 {
		return classNone
	}
	return status / 100
}

// errKind is why a request got no answer.
type errKind uint8

const (
	errNone errKind = iota
	errTimeout
	errRefused
	errReset
	errEOF
	errProtocol
	errTLS
	errCanceled
	errPayload
	errOther
	numErrKinds
)

// errKindNames are the report's words: the transport ones are neterr's,
// the rest (protocol, payload) are the load generator's own.
var errKindNames = [numErrKinds]string{"", string(neterr.Timeout), string(neterr.Refused), string(neterr.Reset),
	string(neterr.EOF), "protocol", string(neterr.TLS), string(neterr.Canceled), "payload", string(neterr.Other)}

func (k errKind) String() string { return errKindNames[k] }

// ErrorKinds are the words Sent.Err and Result.Errors use for a request
// that got no answer, in a fixed order, for callers that keep one counter
// per kind (bench's --metrics).
func ErrorKinds() []string { return slices.Clone(errKindNames[1:]) }

// classify names a transport error. canceled says the run was stopping.
// The load generator's own wire reader adds protocol errors; every other
// word comes from neterr, as the sender's do.
func classify(err error, canceled bool) errKind {
	switch {
	case err == nil:
		return errNone
	case canceled:
		return errCanceled
	}
	k := neterr.Classify(err)
	if (k == neterr.Other || k == neterr.TLS) &&
		(errors.Is(err, errMalformed) || errors.Is(err, errHeaderTooLarge) || errors.Is(err, errUnsolicited)) {
		return errProtocol
	}
	switch k {
	case neterr.Timeout:
		return errTimeout
	case neterr.Refused:
		return errRefused
	case neterr.Reset:
		return errReset
	case neterr.EOF:
		return errEOF
	case neterr.TLS:
		return errTLS
	case neterr.Canceled:
		return errCanceled
	}
	return errOther
}

// sample is what is kept of one request until its batch is merged.
type sample struct {
	corrected   int64 // ns from the intended send time to the end of the answer
	uncorrected int64 // ns from the actual send to the end of the answer
	lag         int64 // ns from intended to actual send; -1 in a closed loop
	sent, recv  int64 // bytes
	status      uint16
	err         errKind
	dup         bool
}

// batchSize bounds a worker's unmerged samples; maxBatchAge bounds how stale
// the live figures (progress) can be.
const (
	batchSize   = 128
	maxBatchAge = 100 * time.Millisecond
)

// batch is one worker's recent samples. Workers record here without any
// lock; a full or old batch is merged into the tally under one lock, so
// the cost of sharing is paid once per batch, not per request, and memory
// stays at one batch per worker however long the run.
type batch struct {
	s     [batchSize]sample
	n     int
	first time.Time
}

// add records s; now is the end of the request. It reports whether the
// batch should be merged.
func (b *batch) add(s sample, now time.Time) bool {
	if b.n == 0 {
		b.first = now
	}
	b.s[b.n] = s
	b.n++
	return b.n == batchSize || now.Sub(b.first) >= maxBatchAge
}

// tally holds the run's histograms and counters.
type tally struct {
	mu          sync.Mutex
	corrected   *hdr.Histogram
	uncorrected *hdr.Histogram
	lag         *hdr.Histogram
	classCorr   [numClasses]*hdr.Histogram // created on first use
	classUnc    [numClasses]*hdr.Histogram
	status      [600]uint64
	errors      [numErrKinds]uint64
	completed   uint64
	dups        uint64
	bytesSent   uint64
	bytesRecv   uint64
}

func newTally() *tally {
	return &tally{corrected: newHist(), uncorrected: newHist(), lag: newHist()}
}

// micros converts ns to the histograms' µs, rounding up and clamping to
// their range so that nothing recorded is lost.
func micros(ns int64) int64 {
	us := (ns + 999) / 1000
	if us < histMin {
		return histMin
	}
	if us > histMax {
		return histMax
	}
	return us
}

func (t *tally) merge(b *batch) {
	if b.n == 0 {
		return
	}
	t.mu.Lock()
	for i := range b.s[:b.n] {
		s := &b.s[i]
		c, u := micros(s.corrected), micros(s.uncorrected)
		t.corrected.RecordValue(c)
		t.uncorrected.RecordValue(u)
		if s.lag >= 0 {
			t.lag.RecordValue(micros(s.lag))
		}
		cl := classOf(int(s.status))
		if s.err != errNone {
			cl = classNone
		}
		if t.classCorr[cl] == nil {
			t.classCorr[cl], t.classUnc[cl] = newHist(), newHist()
		}
		t.classCorr[cl].RecordValue(c)
		t.classUnc[cl].RecordValue(u)
		if s.err != errNone {
			t.errors[s.err]++
		} else if int(s.status) < len(t.status) {
			t.status[s.status]++
		}
		t.completed++
		if s.dup {
			t.dups++
		}
		t.bytesSent += uint64(s.sent)
		t.bytesRecv += uint64(s.recv)
	}
	t.mu.Unlock()
	b.n = 0
}

// fill copies the tally's counters and histograms into res (the caller
// holds t.mu or owns t): the open and closed loops and replay report alike.
func (t *tally) fill(res *Result) {
	res.Completed, res.Duplicates = t.completed, t.dups
	res.BytesSent, res.BytesReceived = t.bytesSent, t.bytesRecv
	res.Corrected, res.Uncorrected, res.Lag = t.corrected, t.uncorrected, t.lag
	res.StatusCodes, res.Errors, res.Classes = map[int]uint64{}, map[string]uint64{}, map[string]ClassLatency{}
	for st, n := range t.status {
		if n > 0 {
			res.StatusCodes[st] = n
		}
	}
	for k, n := range t.errors {
		if n > 0 {
			res.Errors[errKind(k).String()] = n
		}
	}
	for cl := range t.classCorr {
		if t.classCorr[cl] != nil {
			res.Classes[classNames[cl]] = ClassLatency{Corrected: t.classCorr[cl], Uncorrected: t.classUnc[cl]}
		}
	}
}

// live is the part of the tally progress shows.
type live struct {
	completed, errors, non2xx uint64
	p99                       time.Duration
}

func (t *tally) live() live {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := live{completed: t.completed}
	for _, n := range t.errors {
		l.errors += n
	}
	for st, n := range t.status {
		if st/100 != 2 {
			l.non2xx += n
		}
	}
	if t.corrected.TotalCount() > 0 {
		l.p99 = time.Duration(t.corrected.ValueAtPercentile(99)) * time.Microsecond
	}
	return l
}
