package conform

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// journal reads what the endpoint says it processed, in the reference
// receiver's GET /v1/receipts format ({"receipts":[{"id","status",
// "duplicate",...}],"next":N}, paged by ?since=), the format `hookrig run
// --receipts` reads. A receipt with a 2xx status that is not marked
// duplicate is one processing of its id.
type journal struct {
	url    string
	client *http.Client
	since  uint64
	// seen counts processings per id of everything read so far.
	seen map[string]int
}

type receiptsPage struct {
	Receipts []struct {
		ID        string `json:"id"`
		Status    int    `json:"status"`
		Duplicate bool   `json:"duplicate"`
	} `json:"receipts"`
	Next uint64 `json:"next"`
}

const (
	journalPageLimit = 1000
	maxJournalPage   = 16 << 20
)

// skipToEnd moves past what the journal held before the run (checking on
// the way that the URL answers in the format), so only this run counts.
func (j *journal) skipToEnd(ctx context.Context) error {
	for {
		n, err := j.readPage(ctx, false)
		if err != nil || n == 0 {
			return err
		}
	}
}

// processed reads the journal to its end and says how many times id was
// processed in this run.
func (j *journal) processed(ctx context.Context, id string) (int, error) {
	for {
		n, err := j.readPage(ctx, true)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return j.seen[id], nil
		}
	}
}

// readPage reads one page after since, counting its processings when
// count is set; it returns how many receipts the page held.
func (j *journal) readPage(ctx context.Context, count bool) (int, error) {
	u, err := url.Parse(j.url)
	if err != nil {
		return 0, fmt.Errorf("receipts URL %q: %v", j.url, err)
	}
	q := u.Query()
	q.Set("since", strconv.FormatUint(j.since, 10))
	q.Set("limit", strconv.Itoa(journalPageLimit))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("receipts URL %q: %v", j.url, err)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("receipts URL: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJournalPage+1))
	switch {
	case err != nil:
		return 0, fmt.Errorf("receipts URL: %w", err)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("receipts URL %s answered %s: expected 200 and a page of receipts", j.url, resp.Status)
	case len(body) > maxJournalPage:
		return 0, fmt.Errorf("receipts URL %s: a page over %d MiB", j.url, maxJournalPage>>20)
	}
	var p receiptsPage
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, fmt.Errorf("receipts URL %s: expected {\"receipts\": [...], \"next\": N} (the reference receiver's GET /v1/receipts): %v", j.url, err)
	}
	if len(p.Receipts) == 0 {
		return 0, nil
	}
	if p.Next <= j.since {
		return 0, fmt.Errorf("receipts URL %s: \"next\" (%d) does not move past since=%d", j.url, p.Next, j.since)
	}
	j.since = p.Next
	if count {
		if j.seen == nil {
			j.seen = map[string]int{}
		}
		for _, rc := range p.Receipts {
			if rc.Status >= 200 && rc.Status <= 299 && !rc.Duplicate {
				j.seen[rc.ID]++
			}
		}
	}
	return len(p.Receipts), nil
}
