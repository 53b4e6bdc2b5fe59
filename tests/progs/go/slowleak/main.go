// slowleak reproduces story 4b of SCENARIOS.md: the same Watch leak as
// preleak (two goroutines per main.watchConfig call, blocked forever in
// "chan receive" in main.(*watcher).loop and main.(*watcher).recvLoop), but
// one call per -interval, driven by main.refreshLoop: a slow, steady slope.
//
// Flags:
//
//	-interval S   seconds between watchConfig calls (default 1; real life: 60)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
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

func (w *watcher) loop() {
	for ev := range w.events {
		w.last = ev.value
	}
}

func (w *watcher) recvLoop() {
	for b := range w.raw {
		w.events <- event{key: w.key, value: string(b)}
	}
}

//go:noinline
func watchConfig(key string) *watcher {
	w := &watcher{key: key, events: make(chan event), raw: make(chan []byte)}
	go w.loop()
	go w.recvLoop()
	return w
}

//go:noinline
func refreshLoop(interval time.Duration) {
	start := time.Now()
	var n int64
	for {
		watchConfig("/config/collector/" + strconv.FormatInt(n%16, 10))
		n++
		if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
			time.Sleep(d)
		}
	}
}

func main() {
	interval := flag.Float64("interval", 1, "seconds between watchConfig calls")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *interval <= 0 {
		fmt.Fprintln(os.Stderr, "slowleak: bad flags")
		os.Exit(2)
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	refreshLoop(time.Duration(*interval * float64(time.Second)))
}
