// A net/http server for benchmarks: each request allocates a buffer and
// starts a goroutine that finishes shortly after. -idle N parks N
// goroutines for the goroutine-profile comparison; net/http/pprof is served
// on the same loopback port.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync/atomic"
)

var sink atomic.Int64

func handler(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	done := make(chan int, 1)
	go func() { done <- len(buf) }()
	sink.Add(int64(<-done))
	w.Write(buf[:64])
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	idle := flag.Int("idle", 0, "goroutines parked forever")
	flag.Parse()
	block := make(chan struct{})
	for i := 0; i < *idle; i++ {
		go func() { <-block }()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/work", handler)
	fmt.Printf("ready pid=%d addr=%s\n", os.Getpid(), ln.Addr())
	http.Serve(ln, nil)
}
