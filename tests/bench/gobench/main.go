// Goroutine micro-benchmarks for measuring what leaktrace costs a Go
// target: goroutine create/exit churn and unbuffered channel ping-pong.
// Prints "ready pid=N", waits -wait seconds (time to attach a tracer), then
// prints one line "mode=M ops=N seconds=S ops_per_s=R".
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

func churn(d time.Duration) int {
	var wg sync.WaitGroup
	n := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() { wg.Done() }()
		}
		wg.Wait()
		n += 1000
	}
	return n
}

func pingpong(d time.Duration) int {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	n := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			ping <- i
			<-pong
		}
		n += 1000
	}
	close(ping)
	return n
}

func main() {
	mode := flag.String("mode", "churn", "churn or pingpong")
	secs := flag.Float64("seconds", 3, "measured run time")
	wait := flag.Float64("wait", 0, "seconds to wait after ready")
	flag.Parse()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	time.Sleep(time.Duration(*wait * float64(time.Second)))
	d := time.Duration(*secs * float64(time.Second))
	start := time.Now()
	var n int
	if *mode == "pingpong" {
		n = pingpong(d)
	} else {
		n = churn(d)
	}
	s := time.Since(start).Seconds()
	fmt.Printf("mode=%s ops=%d seconds=%.2f ops_per_s=%.0f\n", *mode, n, s, float64(n)/s)
}
