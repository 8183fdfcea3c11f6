package live

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/sim/verdict"
)

// journalReader reads a user's endpoint's own record of what it received,
// in the reference receiver's GET /v1/receipts format. It is how an
// endpoint that answers 200 and then drops a webhook is caught: the proxy
// saw the 200, the journal does not have the webhook.
type journalReader struct {
	receipts *receiver.ReceiptsClient
	prefix   string // only ids of this run count
	// foreign counts receipts for ids of other runs, left out.
	foreign int
}

// A page of receipts: up to journalPageLimit of them, at most
// maxJournalPage bytes.
const (
	journalPageLimit = 10000
	maxJournalPage   = 64 << 20
)

func newJournalReader(u, prefix string) *journalReader {
	client := &http.Client{
		Timeout: 30 * time.Second,
		// No proxy from the environment: a library does not read it.
		Transport: &http.Transport{},
	}
	return &journalReader{receipts: receiver.NewReceiptsClient(u, client, journalPageLimit, maxJournalPage), prefix: prefix}
}

// skipToEnd moves past every receipt already in the journal (an earlier
// run's), checking on the way that the URL answers in the right format.
func (j *journalReader) skipToEnd(ctx context.Context) error {
	return j.receipts.SkipToEnd(ctx)
}

// read returns the receipts added since the last read, as the checker
// takes them.
func (j *journalReader) read(ctx context.Context) ([]verdict.ReceiptRec, error) {
	var out []verdict.ReceiptRec
	for {
		page, err := j.receipts.Next(ctx)
		if err != nil || len(page) == 0 {
			return out, err
		}
		for _, r := range page {
			if !strings.HasPrefix(r.ID, j.prefix) {
				j.foreign++
				continue
			}
			verified := r.Verified == nil || *r.Verified // an endpoint that does not say is taken at its word
			out = append(out, verdict.ReceiptRec{ID: r.ID, At: r.At, Status: r.Status, Verified: verified, Duplicate: r.Duplicate})
		}
	}
}
