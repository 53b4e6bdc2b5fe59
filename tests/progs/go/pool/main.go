// pool is a healthy fixed worker pool: main.startPool starts -workers
// goroutines running main.worker, spread over -ramp-s seconds after
// -ramp-delay-s, then never more. Workers take jobs from a channel fed at
// -job-rate jobs a second and are parked in "chan receive" between jobs.
// The live goroutine count rises to -workers and stays there: a plateau
// (or, traced after the ramp, flat), never a leak.
//
// Flags:
//
//	-workers N       pool size (default 8)
//	-ramp-s S        seconds over which the workers are started (default 0)
//	-ramp-delay-s S  seconds between ready and the first worker (default 0)
//	-start-on-usr1   start the ramp when SIGUSR1 comes instead (a test sends
//	                 it once the tracer has taken its first sample)
//	-job-rate N      jobs per second (default 200)
//	-duration S      exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up (with -ramp-s 0, after the pool is
// started).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var jobs = make(chan uint64)
var done = make(chan uint64, 64)

//go:noinline
func worker(id int) {
	for j := range jobs {
		x := j*0x9e3779b97f4a7c15 + uint64(id)
		for i := 0; i < 200; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		done <- x
	}
}

//go:noinline
func startPool(n int, ramp time.Duration) {
	for i := 0; i < n; i++ {
		if ramp > 0 && i > 0 {
			time.Sleep(ramp / time.Duration(n))
		}
		go worker(i)
	}
}

func feed(rate float64) {
	start := time.Now()
	var n uint64
	for {
		due := uint64(rate * time.Since(start).Seconds())
		for ; n < due; n++ {
			jobs <- n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func main() {
	workers := flag.Int("workers", 8, "pool size")
	rampS := flag.Float64("ramp-s", 0, "seconds over which the workers are started")
	delayS := flag.Float64("ramp-delay-s", 0, "seconds between ready and the first worker")
	rate := flag.Float64("job-rate", 200, "jobs per second")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	onUsr1 := flag.Bool("start-on-usr1", false, "start the ramp when SIGUSR1 comes")
	flag.Parse()
	usr1 := make(chan os.Signal, 1)
	if *onUsr1 {
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	if *workers <= 0 || *rampS < 0 || *delayS < 0 || *rate < 0 {
		fmt.Fprintln(os.Stderr, "pool: bad flags")
		os.Exit(2)
	}
	var sum uint64
	go func() {
		for x := range done {
			sum += x
		}
	}()
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	ramp := time.Duration(*rampS * float64(time.Second))
	if ramp == 0 && *delayS == 0 && !*onUsr1 {
		startPool(*workers, 0)
	}
	go feed(*rate)
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	if *onUsr1 {
		<-usr1
		startPool(*workers, ramp)
	} else if ramp > 0 || *delayS > 0 {
		time.Sleep(time.Duration(*delayS * float64(time.Second)))
		startPool(*workers, ramp)
	}
	for {
		time.Sleep(time.Hour) // idle; a bare select{} would be a deadlock
	}
}
