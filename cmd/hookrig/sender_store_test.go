package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/pgtest"
)

// --store and --data name two different outboxes: refused in one line.
func TestSenderStoreAndDataTogether(t *testing.T) {
	code, _, logs := runOnce(context.Background(), "", "sender", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--store", "postgres://hookrig@127.0.0.1:1/hookrig")
	if code != exitError || !strings.Contains(logs, "give --data (an embedded bbolt outbox) or --store (PostgreSQL), not both") || strings.Count(strings.TrimSpace(logs), "\n") > 0 {
		t.Fatalf("exit %d, stderr %q", code, logs)
	}
}

// The sender on PostgreSQL, through its API, delivers single and batched
// events to a real reference receiver.
func TestSenderOnPostgresDeliversToReceiver(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	dsn := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 20 * time.Second}
	recv := startServer(t, nil, 1, "receiver", "--listen", "127.0.0.1:0", "--secret", secret, "--quiet")
	send := startServer(t, nil, 1, "sender", "--listen", "127.0.0.1:0", "--store", dsn, "--instance", "only", "--quiet", "--seed", "1")

	var ep struct{ ID string }
	apiCall(t, client, "POST", send.url+"/v1/endpoints", fmt.Sprintf(`{"url": %q, "secret": %q}`, recv.url+"/hooks", secret), 201, &ep)
	accepted := map[string]bool{}
	for i := range 10 {
		var res struct{ ID string }
		apiCall(t, client, "POST", send.url+"/v1/events", fmt.Sprintf(`{"endpoint": %q, "type": "order.paid", "payload": {"n": %d}}`, ep.ID, i), 202, &res)
		accepted[res.ID] = true
	}
	var evs []string
	for i := range 90 {
		evs = append(evs, fmt.Sprintf(`{"endpoint": %q, "type": "order.paid", "payload": {"n": %d}}`, ep.ID, 10+i))
	}
	var batch struct{ IDs []string }
	apiCall(t, client, "POST", send.url+"/v1/events", `{"events": [`+strings.Join(evs, ",")+`]}`, 202, &batch)
	for _, id := range batch.IDs {
		accepted[id] = true
	}
	if len(accepted) != 100 {
		t.Fatalf("%d distinct ids accepted; want 100", len(accepted))
	}
	var ss struct{ Accepted, Delivered, Pending, Interrupted int }
	poll(t, ctx, "the sender to deliver 100 events", func() bool {
		apiCall(t, client, "GET", send.url+"/v1/stats", "", 200, &ss)
		return ss.Delivered == 100
	})
	if ss.Accepted != 100 || ss.Pending != 0 || ss.Interrupted != 0 {
		t.Fatalf("sender stats %+v; want 100 accepted and delivered", ss)
	}
	var rs struct{ Received, Unique, Duplicates int }
	apiCall(t, client, "GET", recv.url+"/v1/stats", "", 200, &rs)
	if rs.Unique != 100 || rs.Duplicates != 0 {
		t.Fatalf("receiver stats %+v; want 100 unique webhooks, no duplicate", rs)
	}
	var e struct {
		State    string
		Attempts []struct{ N, Status int }
	}
	apiCall(t, client, "GET", send.url+"/v1/events/"+batch.IDs[0], "", 200, &e)
	if e.State != "delivered" || len(e.Attempts) != 1 || e.Attempts[0].Status != 200 {
		t.Fatalf("event %s: %+v; want delivered at the first attempt", batch.IDs[0], e)
	}
}
