// Command upstream is the server the bench scripts point load at when what
// they compare is the load tool or the proxy in front, not the endpoint: a
// plain Go net/http server that reads each request body and answers 200
// with a fixed body. bench/chaos.sh puts it behind hookrig chaos and nginx;
// bench/loadgen.sh aims every load tool at it.
//
// It binds loopback unless -listen names a host, prints its address as its
// first line and shuts down gracefully on SIGINT/SIGTERM. With -free-port
// it prints a free loopback port and exits (for nginx, whose config needs a
// port number).
//
//	upstream                                   # answers 200 "ok" (text/plain)
//	upstream -answer '{"ok":true}' -type application/json
//	upstream -free-port
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookrig/hookrig/internal/httpapi"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback unless a host is given)")
	answer := flag.String("answer", "ok", "body of every 200 answer")
	contentType := flag.String("type", "text/plain", "Content-Type of the answer")
	freePort := flag.Bool("free-port", false, "print a free loopback port and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "upstream: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	ln, err := httpapi.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(2)
	}
	if *freePort {
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	body := []byte(*answer)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", *contentType)
		w.Write(body)
	})
	fmt.Printf("upstream listening on http://%s\n", ln.Addr())
	if err := httpapi.Serve(ctx, httpapi.NewServer(h), ln, 5*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}
