package receiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ReceiptsClient pages through an endpoint's record of what it received,
// in this receiver's GET /v1/receipts format ({"receipts": [...],
// "next": N}, asked with ?since=N&limit=L): the one reader that `hookrig
// run --receipts` and `hookrig conform --receipts` share. The endpoint
// may be the reference receiver or a user's own that speaks the format.
// A ReceiptsClient is not safe for concurrent use.
type ReceiptsClient struct {
	url    string
	client *http.Client
	limit  int
	// maxPage bounds one page's bytes read: a runaway endpoint cannot
	// make the reader hold more.
	maxPage int64
	since   uint64
}

// NewReceiptsClient reads the receipts at u (the full URL of GET
// /v1/receipts) through client, limit receipts and at most maxPage bytes
// a page.
func NewReceiptsClient(u string, client *http.Client, limit int, maxPage int64) *ReceiptsClient {
	return &ReceiptsClient{url: u, client: client, limit: limit, maxPage: maxPage}
}

// ListedReceipt is one receipt as an endpoint lists it. Verified is nil
// when the endpoint does not say (a user's endpoint need not).
type ListedReceipt struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Status    int       `json:"status"`
	Verified  *bool     `json:"verified"`
	Duplicate bool      `json:"duplicate"`
}

// Processed says whether the receipt records one processing of its id:
// answered 2xx, and not as a duplicate.
func (r ListedReceipt) Processed() bool {
	return r.Status >= 200 && r.Status <= 299 && !r.Duplicate
}

// SkipToEnd moves past every receipt already listed (an earlier run's),
// checking on the way that the URL answers in the format, so that only
// what comes after counts.
func (c *ReceiptsClient) SkipToEnd(ctx context.Context) error {
	for {
		p, err := c.Next(ctx)
		if err != nil || len(p) == 0 {
			return err
		}
	}
}

// Next reads the page after the last one read; an empty page means the
// client has read everything listed so far.
func (c *ReceiptsClient) Next(ctx context.Context) ([]ListedReceipt, error) {
	u, err := url.Parse(c.url)
	if err != nil {
		return nil, fmt.Errorf("receipts URL %q: %v", c.url, err)
	}
	q := u.Query()
	q.Set("since", strconv.FormatUint(c.since, 10))
	q.Set("limit", strconv.Itoa(c.limit))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("receipts URL %q: %v", c.url, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("receipts URL: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxPage+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("receipts URL: %w", err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("receipts URL %s answered %s: expected 200 and a page of receipts: %.200s", c.url, resp.Status, body)
	case int64(len(body)) > c.maxPage:
		return nil, fmt.Errorf("receipts URL %s: a page over %d MiB", c.url, c.maxPage>>20)
	}
	var p struct {
		Receipts []ListedReceipt `json:"receipts"`
		Next     uint64          `json:"next"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("receipts URL %s: expected {\"receipts\": [...], \"next\": N} (the reference receiver's GET /v1/receipts): %v", c.url, err)
	}
	if len(p.Receipts) == 0 {
		return nil, nil
	}
	if p.Next <= c.since {
		return nil, fmt.Errorf("receipts URL %s: \"next\" (%d) does not move past since=%d", c.url, p.Next, c.since)
	}
	c.since = p.Next
	return p.Receipts, nil
}
