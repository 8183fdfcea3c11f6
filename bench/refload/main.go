// Command refload drives the reference sender for bench/reference.sh in
// the two ways `hookrig bench` does not: ingest in batches (hookrig bench's
// ingest mode posts one event per request) and end to end (ingest, then
// wait until the sender reports every event delivered). It is a small,
// honest load driver, not a product; everything else in that script is
// measured with hookrig bench. Modes:
//
//	refload ingest   -sender URL -endpoint ID -n N -c C -batch B   events/s accepted durably
//	refload e2e      -sender URL -endpoint ID -n N -c C -batch B   events/s delivered end to end
//
// -endpoint may list several ids, comma-separated: event k goes to the
// (k mod count)th.
//
// Each load mode prints one JSON line with the rate and request latency
// (p50, p99), or with -tsv the line "rate p50_ms p99_ms failed".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

type result struct {
	Mode     string  `json:"mode"`
	N        int64   `json:"n"`
	OK       int64   `json:"ok"`
	Failed   int64   `json:"failed"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate"` // per second: events accepted or delivered
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Requests int64   `json:"requests"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: refload ingest|e2e [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	sender := fs.String("sender", "", "sender base URL")
	endpoint := fs.String("endpoint", "", "endpoint id at the sender (several: comma-separated, events spread in turn)")
	n := fs.Int("n", 20000, "events")
	c := fs.Int("c", 32, "concurrent clients")
	batch := fs.Int("batch", 1, "events per ingest request")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after")
	tsv := fs.Bool("tsv", false, "print \"rate p50_ms p99_ms failed\" instead of JSON")
	fs.Parse(os.Args[2:])

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c * 2, DisableCompression: true}}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var res result
	var err error
	switch mode {
	case "ingest":
		res, err = ingest(ctx, client, *sender, strings.Split(*endpoint, ","), *n, *c, *batch)
	case "e2e":
		res, err = e2e(ctx, client, *sender, strings.Split(*endpoint, ","), *n, *c, *batch)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "refload:", err)
		os.Exit(1)
	}
	if res.Failed > 0 {
		fmt.Fprintf(os.Stderr, "refload: %s: %d of %d failed\n", mode, res.Failed, res.N)
	}
	res.Mode = mode
	if *tsv {
		fmt.Printf("%.0f %.3f %.3f %d\n", res.Rate, res.P50ms, res.P99ms, res.Failed)
		return
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

// run calls do(i) for i in [0, jobs) from c goroutines, timing each call.
func run(ctx context.Context, jobs, c int, do func(i int) error) (ok, failed int64, h *hdrhistogram.Histogram, elapsed time.Duration) {
	var next atomic.Int64
	var okN, failN atomic.Int64
	var mu sync.Mutex
	h = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			local := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= jobs {
					break
				}
				t := time.Now()
				if err := do(i); err != nil {
					if failN.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, "refload:", err)
					}
				} else {
					okN.Add(1)
				}
				local.RecordValue(time.Since(t).Microseconds())
			}
			mu.Lock()
			h.Merge(local)
			mu.Unlock()
		})
	}
	wg.Wait()
	return okN.Load(), failN.Load(), h, time.Since(start)
}

func post(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("POST %s: %d", url, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

const payload = `{"type":"invoice.paid","data":{"id":"in_1234567890","amount":4200,"currency":"eur","customer":"cus_0987654321"}}`

// ingestBody is request i: one event, or {"events": [...]}; event k to
// endpoints[k mod len(endpoints)].
func ingestBody(endpoints []string, i, batch int) []byte {
	one := func(k int) string {
		return `{"endpoint":"` + endpoints[k%len(endpoints)] + `","type":"invoice.paid","key":"k` + strconv.Itoa(k%100) + `","payload":` + payload + `}`
	}
	if batch == 1 {
		return []byte(one(i))
	}
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for k := range batch {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one(i*batch + k))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func ingest(ctx context.Context, client *http.Client, sender string, endpoints []string, n, c, batch int) (result, error) {
	requests := (n + batch - 1) / batch
	ok, failed, h, elapsed := run(ctx, requests, c, func(i int) error {
		_, err := post(ctx, client, sender+"/v1/events", ingestBody(endpoints, i, batch))
		return err
	})
	return result{N: int64(requests * batch), OK: ok * int64(batch), Failed: failed * int64(batch), Requests: ok + failed,
		Seconds: elapsed.Seconds(), Rate: float64(ok*int64(batch)) / elapsed.Seconds(),
		P50ms: ms(h, 50), P99ms: ms(h, 99)}, nil
}

type senderStats struct {
	Accepted  int64 `json:"accepted"`
	Delivered int64 `json:"delivered"`
}

func stats(ctx context.Context, client *http.Client, sender string) (senderStats, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", sender+"/v1/stats", nil)
	resp, err := client.Do(req)
	if err != nil {
		return senderStats{}, err
	}
	defer resp.Body.Close()
	var st senderStats
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// e2e ingests n events and waits until the sender has delivered them all:
// the rate is n over the time from the first request to the last
// delivery.
func e2e(ctx context.Context, client *http.Client, sender string, endpoints []string, n, c, batch int) (result, error) {
	before, err := stats(ctx, client, sender)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	res, err := ingest(ctx, client, sender, endpoints, n, c, batch)
	if err != nil {
		return res, err
	}
	want := before.Delivered + res.OK
	for {
		st, err := stats(ctx, client, sender)
		if err != nil {
			return res, err
		}
		if st.Delivered >= want {
			break
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("delivered %d of %d before the timeout", st.Delivered-before.Delivered, res.OK)
		case <-time.After(5 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	res.Seconds, res.Rate = elapsed.Seconds(), float64(res.OK)/elapsed.Seconds()
	return res, nil
}

func ms(h *hdrhistogram.Histogram, q float64) float64 {
	return float64(h.ValueAtQuantile(q)) / 1000 // recorded in µs; ValueAtQuantile takes a percent
}
