// Command chaosupstream is the upstream for bench/chaos.sh: a plain Go
// net/http server on loopback that reads each request and answers 200
// "ok", standing in for a fast webhook receiver. It prints its address as
// its first line. With -free-port it prints a free loopback port and exits
// (for nginx, which needs a port number in its config).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on")
	freePort := flag.Bool("free-port", false, "print a free loopback port and exit")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *freePort {
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		return
	}
	fmt.Printf("upstream listening on http://%s\n", ln.Addr())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
