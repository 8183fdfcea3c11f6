// Command loadgen-target is the server bench/loadgen.sh points every load
// tool at: it reads the request body and answers 200 with a small JSON body,
// so what the benchmark compares is the tools, not the endpoint. It binds
// loopback only and prints its address on the first line.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookrig/hookrig/internal/httpapi"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback unless a host is given)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := httpapi.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen-target:", err)
		os.Exit(2)
	}
	answer := []byte(`{"ok":true}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})
	fmt.Printf("loadgen-target listening on http://%s\n", ln.Addr())
	if err := httpapi.Serve(ctx, httpapi.NewServer(h), ln, 5*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen-target:", err)
		os.Exit(2)
	}
}
