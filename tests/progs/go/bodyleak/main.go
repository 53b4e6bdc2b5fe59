// bodyleak: an HTTP client that never closes response bodies. Every request
// dials a new connection (the unread body keeps the old one busy), and each
// connection leaks net/http's (*persistConn).readLoop and writeLoop
// goroutines, created by (*Transport).dialConn in a goroutine that
// (*Transport).startDialConnForLocked (queueForDial before Go 1.22)
// started. The application function that called Client.Get,
// main.fetchStatus, appears in none of the leaked goroutines' own creation
// stacks: only their ancestry names it.
//
// The server is in the same process, on 127.0.0.1.
//
// Flags:
//
//	-rate N       requests per second (default 5)
//	-max N        stop sending after N requests (default 100000)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

//go:noinline
func fetchStatus(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	// The bug: resp.Body is never read to the end nor closed.
	return resp.StatusCode
}

//go:noinline
func pollLoop(c *http.Client, url string, rate, max int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; i < max; i++ {
		<-tick.C
		fetchStatus(c, url)
	}
}

func main() {
	rate := flag.Int("rate", 5, "requests per second")
	max := flag.Int("max", 100000, "requests at most")
	duration := flag.Float64("duration", 0, "exit after seconds")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body := make([]byte, 64<<10)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
	}))
	c := &http.Client{Transport: &http.Transport{}}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	go pollLoop(c, "http://"+ln.Addr().String()+"/status", *rate, *max)
	if *duration > 0 {
		time.Sleep(time.Duration(*duration * float64(time.Second)))
		os.Exit(0)
	}
	select {}
}
