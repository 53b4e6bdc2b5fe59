// chansend reproduces story 1 of SCENARIOS.md: a message-queue client whose
// broker loop asks about unacknowledged transactions; for each request
// main.handleTxnCheck spawns a goroutine that pushes a callback onto an
// unbuffered channel that nothing reads. Those goroutines park in
// "chan send" forever, one per request (-leak-rate per second), while heavy
// healthy churn (-churn-rate per second, main.churnLoop -> main.spawnHealthy)
// starts goroutines that sleep briefly, do a little work and exit.
//
// Flags:
//
//	-leak-rate N   leaked goroutines per second (default 1)
//	-churn-rate N  healthy short-lived goroutines per second (default 1000)
//	-duration S    exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

type txnCheckRequest struct {
	txnID   int64
	topic   string
	attempt int
}

type callback struct {
	txnID int64
	state string
}

// callbackCh is only drained by the transactional producer's consumer,
// which this client never starts.
var callbackCh = make(chan *callback)

var healthyDone int64

//go:noinline
func handleTxnCheck(req *txnCheckRequest) {
	cb := &callback{txnID: req.txnID, state: "UNKNOWN"}
	go func() {
		callbackCh <- cb
	}()
}

//go:noinline
func brokerLoop(rate float64) {
	start := time.Now()
	var n int64
	for {
		due := int64(rate * time.Since(start).Seconds())
		for n < due {
			handleTxnCheck(&txnCheckRequest{txnID: n, topic: "orders", attempt: 1})
			n++
		}
		time.Sleep(10 * time.Millisecond)
	}
}

//go:noinline
func healthyWork(id int64) {
	time.Sleep(2 * time.Millisecond)
	x := uint64(id)
	for i := 0; i < 200; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	if x != 0 {
		atomic.AddInt64(&healthyDone, 1)
	}
}

//go:noinline
func spawnHealthy(id int64) {
	go healthyWork(id)
}

//go:noinline
func churnLoop(rate float64) {
	start := time.Now()
	var n int64
	for {
		due := int64(rate * time.Since(start).Seconds())
		for n < due {
			spawnHealthy(n)
			n++
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	leakRate := flag.Float64("leak-rate", 1, "leaked goroutines per second")
	churnRate := flag.Float64("churn-rate", 1000, "healthy goroutines per second")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *leakRate < 0 || *churnRate < 0 {
		fmt.Fprintln(os.Stderr, "chansend: bad flags")
		os.Exit(2)
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	go churnLoop(*churnRate)
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	brokerLoop(*leakRate)
}
