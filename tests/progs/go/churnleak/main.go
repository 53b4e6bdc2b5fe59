// churnleak: heavy healthy goroutine churn (short-lived goroutines from
// main.spawnBatch, as fast as -workers loops can create them, or -rate per
// second) with one slow leak: main.subscribe starts a goroutine blocked
// forever in "chan receive" every -leak-every seconds, from
// main.reconcileLoop. Story 4b under the churn of a busy service: the
// creation probe cannot stay on, and the leak must still get its full
// creator stack.
//
// Flags:
//
//	-workers N      goroutines creating churn (default 2)
//	-rate N         churn goroutines per second, 0 = as fast as possible
//	-leak-every S   seconds between leaked goroutines (default 1)
//	-duration S     exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" and, every second on stderr, "churn N/s".
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var created atomic.Int64

//go:noinline
func work(x *int64) { atomic.AddInt64(x, 1) }

//go:noinline
func spawnBatch(n int, sink *int64) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			work(sink)
			wg.Done()
		}()
	}
	wg.Wait()
	created.Add(int64(n))
}

func churn(rate int, per int) {
	var sink int64
	for {
		start := time.Now()
		spawnBatch(64, &sink)
		if rate > 0 {
			want := time.Duration(64 * per * int(time.Second) / rate)
			if d := time.Since(start); d < want {
				time.Sleep(want - d)
			}
		}
	}
}

type subscription struct{ updates chan string }

//go:noinline
func subscribe(topic string) *subscription {
	s := &subscription{updates: make(chan string)}
	go func() {
		for u := range s.updates { // nobody ever sends or closes
			_ = u
		}
	}()
	return s
}

//go:noinline
func reconcileLoop(every time.Duration) {
	for i := 0; ; i++ {
		subscribe(fmt.Sprintf("topic-%d", i%8))
		time.Sleep(every)
	}
}

func main() {
	workers := flag.Int("workers", 2, "churn loops")
	rate := flag.Int("rate", 0, "churn goroutines/s (0: flat out)")
	leakEvery := flag.Float64("leak-every", 1, "seconds between leaked goroutines")
	duration := flag.Float64("duration", 0, "exit after seconds")
	flag.Parse()
	for i := 0; i < *workers; i++ {
		go churn(*rate, *workers)
	}
	go reconcileLoop(time.Duration(*leakEvery * float64(time.Second)))
	fmt.Printf("ready pid=%d\n", os.Getpid())
	go func() {
		last := int64(0)
		for range time.Tick(time.Second) {
			n := created.Load()
			fmt.Fprintf(os.Stderr, "churn %d/s\n", n-last)
			last = n
		}
	}()
	if *duration > 0 {
		time.Sleep(time.Duration(*duration * float64(time.Second)))
		os.Exit(0)
	}
	select {}
}
