// churn is healthy high goroutine churn: main.churnLoop -> main.spawnWorker
// starts -rate goroutines per second; each one hands a value to a collector
// over a channel, does a little work and exits. The live goroutine count
// stays flat (a few dozen). Runs a warm-up before printing ready.
//
// Flags:
//
//	-rate N       goroutines started per second (default 2000)
//	-warmup S     seconds of churn before printing ready (default 0.5)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var results = make(chan uint64, 64)

var total uint64

//go:noinline
func worker(id int64) {
	x := uint64(id)*0x9e3779b97f4a7c15 + 1
	for i := 0; i < 100; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	results <- x
}

//go:noinline
func spawnWorker(id int64) {
	go worker(id)
}

func collector() {
	for x := range results {
		total += x
	}
}

//go:noinline
func churnLoop(rate float64, start time.Time, n *int64, until time.Time) {
	for {
		now := time.Now()
		if !until.IsZero() && now.After(until) {
			return
		}
		due := int64(rate * now.Sub(start).Seconds())
		for *n < due {
			spawnWorker(*n)
			*n++
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func main() {
	rate := flag.Float64("rate", 2000, "goroutines started per second")
	warmup := flag.Float64("warmup", 0.5, "seconds of churn before ready")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *rate < 0 {
		fmt.Fprintln(os.Stderr, "churn: bad flags")
		os.Exit(2)
	}
	go collector()
	start := time.Now()
	var n int64
	churnLoop(*rate, start, &n, start.Add(time.Duration(*warmup*float64(time.Second))))
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	churnLoop(*rate, start, &n, time.Time{})
}
