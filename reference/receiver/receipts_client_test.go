package receiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The client pages through a real receiver's receipts: SkipToEnd leaves
// out what was there before, Next reads the rest a page at a time, and
// Processed counts a 2xx that is not a duplicate.
func TestReceiptsClientPages(t *testing.T) {
	g := newRig(t, Config{})
	g.post("msg_before", 1)
	c := NewReceiptsClient(g.srv.URL+"/v1/receipts", g.srv.Client(), 2, 1<<20)
	ctx := context.Background()
	if err := c.SkipToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		g.post(fmt.Sprintf("msg_rc_%d", i%3), i+1) // 0, 1, 2, then 0 and 1 again
	}
	var pages []int
	processed := map[string]int{}
	for {
		p, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		pages = append(pages, len(p))
		for _, r := range p {
			if r.Verified == nil || !*r.Verified {
				t.Errorf("receipt %s: verified %v, want true", r.ID, r.Verified)
			}
			if r.Processed() {
				processed[r.ID]++
			}
		}
	}
	want := map[string]int{"msg_rc_0": 1, "msg_rc_1": 1, "msg_rc_2": 1}
	if fmt.Sprint(pages) != "[2 2 1]" || fmt.Sprint(processed) != fmt.Sprint(want) {
		t.Errorf("pages %v, processed %v; want [2 2 1], %v", pages, processed, want)
	}
}

// An endpoint that does not speak the format gets a one-line error that
// says what was expected.
func TestReceiptsClientRefusesBadPages(t *testing.T) {
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", `<html>`, 200, `expected {"receipts": [...], "next": N}`},
		{"next stuck", `{"receipts": [{"id": "a", "status": 200}], "next": 0}`, 200, `"next" (0) does not move past since=0`},
		{"error status", `nope`, 404, "answered 404 Not Found: expected 200"},
		{"page too big", `{"receipts": [], "next": 0, "pad": "` + strings.Repeat("x", 2048) + `"}`, 200, "a page over"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(c.status)
				fmt.Fprint(w, c.body)
			}))
			defer srv.Close()
			_, err := NewReceiptsClient(srv.URL, srv.Client(), 10, 1024).Next(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v; want one line containing %q", err, c.want)
			}
		})
	}
}
