package loadgen

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// answerComplete decides whether the poll loop takes an answer from its
// buffer or leaves the rest to a blocking read: it must never say whole
// for an answer that is not (the read would block the scheduler).
func TestAnswerComplete(t *testing.T) {
	tests := []struct {
		b    string
		want bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
		{"HTTP/1.1 204 No Content\r\n\r\n", true},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", true},
		{"HTTP/1.1 100 Continue\r\n\r\n", false},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false}, // chunked: read the blocking way
		{"HTTP/1.1 200 OK\r\n\r\nto the end", false},                              // no length: the same
		{"garbage\r\n\r\n", true},                                                 // readResponse fails on it without reading
		{"", false},
	}
	for _, tt := range tests {
		if got := answerComplete([]byte(tt.b)); got != tt.want {
			t.Errorf("answerComplete(%q) = %v, want %v", tt.b, got, tt.want)
		}
	}
}

// Answers the scheduler cannot take whole from one read (long, chunked,
// closing the connection) are finished on the side and still counted.
func TestOpenLoopReadsEveryKindOfAnswer(t *testing.T) {
	long := strings.Repeat("x", 300<<10)
	ep := newEndpoint(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		switch n % 4 {
		case 0:
			w.Write([]byte(long)) // over net/http's buffer: chunked
		case 1:
			w.Header().Set("Content-Length", "300")
			w.Write([]byte(long[:300]))
			return false // the answer is whole
		case 2:
			w.Header().Set("Connection", "close")
		}
		return true
	})
	res := run(t, Config{Target: Target{URL: ep.URL}, Pacer: Constant(400), Duration: 250 * time.Millisecond, Concurrency: 8})
	// A busy machine may leave some due requests unsent (every link
	// busy until the end); each one sent must be answered.
	if res.Requests+res.NeverSent != 100 || res.Requests < 8 || res.StatusCodes[200] != res.Requests || res.ErrorCount() != 0 {
		t.Fatalf("%d sent, %d never sent, statuses %v, errors %v; want 100 due, every one sent answered 200",
			res.Requests, res.NeverSent, res.StatusCodes, res.Errors)
	}
	if min := uint64(ep.requests.Load()/4) * uint64(len(long)); res.BytesReceived < min {
		t.Errorf("%d bytes received, want at least %d (%d long answers)", res.BytesReceived, min, ep.requests.Load()/4)
	}
	t.Logf("%d sent, %d never sent, lag p99 %v", res.Requests, res.NeverSent, Summarize(res.Lag).P99)
}

// A request the target never answers times out at Timeout, on a link the
// scheduler reads (the first request of a link is dialled on the side,
// the next ones are not).
func TestOpenLoopTimesOutUnansweredRequests(t *testing.T) {
	hold := make(chan struct{})
	ep := newEndpoint(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n > 2 {
			<-hold
		}
		return true
	})
	t.Cleanup(func() { close(hold) }) // before the server's Close, which waits for its handlers
	res := run(t, Config{Target: Target{URL: ep.URL}, Pacer: Constant(100), Duration: 50 * time.Millisecond,
		Timeout: 200 * time.Millisecond, Concurrency: 8, RealTime: true})
	if res.Requests != 5 || res.StatusCodes[200] != 2 || res.Errors["timeout"] != 3 {
		t.Fatalf("%d sent, statuses %v, errors %v; want 5 sent, 2 answered, 3 timed out", res.Requests, res.StatusCodes, res.Errors)
	}
}
