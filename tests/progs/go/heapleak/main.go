// heapleak is a slow Go heap leak under ten times more short-lived
// allocation: every tick main.retain keeps 32 KiB in a global list and
// main.churn allocates 320 KiB that is garbage by the next tick. The heap
// recycles what churn frees, so page faults and arena mmaps do not name
// the leak; the runtime's heap profile does.
//
// heapleak links net/http/pprof (pprof.go) without serving it, which
// keeps the runtime's heap profiling on; heapnoprof is the same program
// without it (the linker then turns heap profiling off).
//
// Flags:
//
//	-rate N       ticks per second (default 20)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var retained [][]byte

//go:noinline
func retain() {
	b := make([]byte, 32<<10)
	// Kept: the list grows by one buffer per tick.
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	retained = append(retained, b)
}

var sum int

// A size the compiler cannot see: churn's buffers go to the heap.
var churnSize = 32 << 10

//go:noinline
func churn() {
	var tmp [10][]byte
	for i := range tmp {
		tmp[i] = make([]byte, churnSize)
		for k := 0; k < len(tmp[i]); k += 4096 {
			tmp[i][k] = byte(k)
		}
	}
	for i := range tmp {
		sum += int(tmp[i][0])
	}
}

func main() {
	rate := flag.Float64("rate", 20, "ticks per second")
	duration := flag.Float64("duration", 0, "seconds to run (0: forever)")
	flag.Parse()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	start := time.Now()
	for range tick.C {
		retain()
		churn()
		if *duration > 0 && time.Since(start).Seconds() >= *duration {
			return
		}
	}
}
