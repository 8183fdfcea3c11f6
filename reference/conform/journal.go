package conform

import (
	"context"
	"net/http"

	"github.com/hookrig/hookrig/reference/receiver"
)

// journal reads what the endpoint says it processed, in the reference
// receiver's GET /v1/receipts format (receiver.ReceiptsClient, the reader
// `hookrig run --receipts` uses too). A receipt with a 2xx status that is
// not marked duplicate is one processing of its id.
type journal struct {
	receipts *receiver.ReceiptsClient
	// seen counts processings per id of everything read so far.
	seen map[string]int
}

// A page of receipts: up to journalPageLimit of them, at most
// maxJournalPage bytes.
const (
	journalPageLimit = 1000
	maxJournalPage   = 16 << 20
)

func newJournal(u string, client *http.Client) *journal {
	return &journal{receipts: receiver.NewReceiptsClient(u, client, journalPageLimit, maxJournalPage), seen: map[string]int{}}
}

// skipToEnd moves past what the journal held before the run (checking on
// the way that the URL answers in the format), so only this run counts.
func (j *journal) skipToEnd(ctx context.Context) error {
	return j.receipts.SkipToEnd(ctx)
}

// processed reads the journal to its end and says how many times id was
// processed in this run.
func (j *journal) processed(ctx context.Context, id string) (int, error) {
	for {
		page, err := j.receipts.Next(ctx)
		if err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return j.seen[id], nil
		}
		for _, rc := range page {
			if rc.Processed() {
				j.seen[rc.ID]++
			}
		}
	}
}
