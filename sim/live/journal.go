package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookrig/hookrig/sim/verdict"
)

// journalReader reads a user's endpoint's own record of what it received,
// in the reference receiver's GET /v1/receipts format. It is how an
// endpoint that answers 200 and then drops a webhook is caught: the proxy
// saw the 200, the journal does not have the webhook.
type journalReader struct {
	url    string
	prefix string // only ids of this run count
	client *http.Client
	since  uint64
	// foreign counts receipts for ids of other runs, left out.
	foreign int
}

// maxJournalPage bounds one page of receipts read.
const (
	journalPageLimit = 10000
	maxJournalPage   = 64 << 20
)

func newJournalReader(u, prefix string) *journalReader {
	return &journalReader{url: u, prefix: prefix, client: &http.Client{
		Timeout: 30 * time.Second,
		// No proxy from the environment: a library does not read it.
		Transport: &http.Transport{},
	}}
}

type journalPage struct {
	Receipts []struct {
		ID        string    `json:"id"`
		At        time.Time `json:"at"`
		Status    int       `json:"status"`
		Verified  *bool     `json:"verified"`
		Duplicate bool      `json:"duplicate"`
	} `json:"receipts"`
	Next uint64 `json:"next"`
}

// skipToEnd moves past every receipt already in the journal (an earlier
// run's), checking on the way that the URL answers in the right format.
func (j *journalReader) skipToEnd(ctx context.Context) error {
	for {
		p, err := j.page(ctx)
		if err != nil {
			return err
		}
		if len(p.Receipts) == 0 {
			return nil
		}
	}
}

// read returns the receipts added since the last read, as the checker
// takes them.
func (j *journalReader) read(ctx context.Context) ([]verdict.ReceiptRec, error) {
	var out []verdict.ReceiptRec
	for {
		p, err := j.page(ctx)
		if err != nil {
			return out, err
		}
		if len(p.Receipts) == 0 {
			return out, nil
		}
		for _, r := range p.Receipts {
			if !strings.HasPrefix(r.ID, j.prefix) {
				j.foreign++
				continue
			}
			verified := r.Verified == nil || *r.Verified // an endpoint that does not say is taken at its word
			out = append(out, verdict.ReceiptRec{ID: r.ID, At: r.At, Status: r.Status, Verified: verified, Duplicate: r.Duplicate})
		}
	}
}

func (j *journalReader) page(ctx context.Context) (*journalPage, error) {
	u, err := url.Parse(j.url)
	if err != nil {
		return nil, fmt.Errorf("receipts URL %q: %v", j.url, err)
	}
	q := u.Query()
	q.Set("since", strconv.FormatUint(j.since, 10))
	q.Set("limit", strconv.Itoa(journalPageLimit))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("receipts URL: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJournalPage+1))
	if err != nil {
		return nil, fmt.Errorf("receipts URL: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("receipts URL %s answered %s: %.200s", j.url, resp.Status, body)
	}
	if len(body) > maxJournalPage {
		return nil, fmt.Errorf("receipts URL %s: a page over %d MB", j.url, maxJournalPage>>20)
	}
	var p journalPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("receipts URL %s: expected {\"receipts\": [...], \"next\": N} (the reference receiver's GET /v1/receipts): %v", j.url, err)
	}
	if len(p.Receipts) > 0 && p.Next <= j.since {
		return nil, fmt.Errorf("receipts URL %s: \"next\" (%d) does not move past since=%d", j.url, p.Next, j.since)
	}
	if len(p.Receipts) > 0 {
		j.since = p.Next
	}
	return &p, nil
}
