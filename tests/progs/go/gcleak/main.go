// gcleak: goroutines leaked in a way the Go runtime can prove (Go 1.26+'s
// goroutine leak detection): main.startJob starts a worker that sends its
// result on a channel only it references, -rate times a second; the
// service itself collects the goroutineleak profile every -profile-every
// seconds (as a service exporting it would), which marks them _Gleaked.
// On Go versions without the profile, pprof.Lookup returns nil and nothing
// is marked.
//
// Flags:
//
//	-rate N            leaked goroutines per second (default 5)
//	-profile-every S   seconds between goroutineleak profiles (default 1)
//	-duration S        exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

//go:noinline
func compute(n int) int { return n * 2 }

//go:noinline
func startJob(n int) {
	results := make(chan int)
	go func() {
		results <- compute(n) // nobody receives: the caller forgot
	}()
}

func main() {
	rate := flag.Int("rate", 5, "leaked goroutines per second")
	every := flag.Float64("profile-every", 1, "seconds between goroutineleak profiles")
	duration := flag.Float64("duration", 0, "exit after seconds")
	flag.Parse()
	go func() {
		for i := 0; ; i++ {
			startJob(i)
			time.Sleep(time.Second / time.Duration(*rate))
		}
	}()
	go func() {
		for range time.Tick(time.Duration(*every * float64(time.Second))) {
			if p := pprof.Lookup("goroutineleak"); p != nil {
				p.WriteTo(io.Discard, 0)
			}
		}
	}()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	if *duration > 0 {
		time.Sleep(time.Duration(*duration * float64(time.Second)))
		os.Exit(0)
	}
	select {}
}
