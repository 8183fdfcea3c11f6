package chaos

import (
	"net"
	"os"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/hookrig/hookrig/chaos/fault"
)

// notFiring loads the rules that are evaluated on every request but never
// fault one: the "rules loaded but not firing" case of the speed goal,
// shared with bench/chaos.sh.
func notFiring(b *testing.B) *fault.Rules {
	b.Helper()
	data, err := os.ReadFile("../bench/chaos-not-firing.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return mustRules(b, string(data))
}

var benchBody = []byte(`{"type":"invoice.paid","id":"evt_0123456789","amount":4200}   `)

// BenchmarkProxy sends POSTs through the proxy to a fasthttp upstream on
// loopback, in parallel, and reports the proxy's cost against going direct.
func BenchmarkProxy(b *testing.B) {
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.WriteString("ok") }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go up.Serve(ln)
	defer up.Shutdown()
	upURL := "http://" + ln.Addr().String()

	run := func(b *testing.B, addr string) {
		hc := &fasthttp.HostClient{Addr: addr, MaxConns: 64}
		b.SetBytes(int64(len(benchBody)))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + addr + "/webhooks")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.SetBody(benchBody)
			for pb.Next() {
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %d", err, resp.StatusCode())
				}
			}
		})
	}
	b.Run("direct", func(b *testing.B) { run(b, ln.Addr().String()) })
	for _, name := range []string{"no-rules", "rules-not-firing"} {
		b.Run(name, func(b *testing.B) {
			cfg := Config{Upstream: upURL}
			if name == "rules-not-firing" {
				cfg.Rules = notFiring(b)
			}
			p, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Start("127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			run(b, p.Addr())
		})
	}
}
