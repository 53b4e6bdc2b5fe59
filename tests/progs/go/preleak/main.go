// preleak reproduces story 4a of SCENARIOS.md: a config client's Watch leaves
// two goroutines blocked forever in "chan receive" per call
// (main.(*watcher).loop and main.(*watcher).recvLoop, both created in
// main.watchConfig). At startup main.watchConfig is called -n times; once
// every leaked goroutine has started, the program prints ready and idles,
// so a tracer attaches to a process that already holds all of them.
//
// Flags:
//
//	-n N          watchConfig calls at startup (default 10000; 2N goroutines)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once all 2N goroutines are parked or parking.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

type event struct {
	key   string
	value string
}

type watcher struct {
	key    string
	events chan event
	raw    chan []byte
	last   string
}

var started sync.WaitGroup

func (w *watcher) loop() {
	started.Done()
	for ev := range w.events {
		w.last = ev.value
	}
}

func (w *watcher) recvLoop() {
	started.Done()
	for b := range w.raw {
		w.events <- event{key: w.key, value: string(b)}
	}
}

// watchConfig starts a watch whose goroutines nobody ever stops: the
// returned watcher has no Close, and the callers drop it.
//
//go:noinline
func watchConfig(key string) *watcher {
	w := &watcher{key: key, events: make(chan event), raw: make(chan []byte)}
	started.Add(2)
	go w.loop()
	go w.recvLoop()
	return w
}

//go:noinline
func loadConfig(n int) {
	for i := 0; i < n; i++ {
		watchConfig("/config/collector/" + strconv.Itoa(i%16))
	}
}

func main() {
	n := flag.Int("n", 10000, "watchConfig calls at startup")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *n < 0 {
		fmt.Fprintln(os.Stderr, "preleak: bad flags")
		os.Exit(2)
	}
	loadConfig(*n)
	started.Wait()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	var deadline time.Time
	if *duration > 0 {
		deadline = time.Now().Add(time.Duration(*duration * float64(time.Second)))
	}
	for deadline.IsZero() || time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}
