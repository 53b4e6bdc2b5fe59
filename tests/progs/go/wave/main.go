// wave: -n goroutines from main.fanOut at -at seconds, all parked on one
// channel, released (they return) -hold seconds later, then nothing: a
// site that rises and falls to zero. With no exit probe, only reads can
// tell that they are gone.
//
// Flags:
//
//	-n N          goroutines in the wave (default 300)
//	-at S         seconds after ready before the wave (default 1)
//	-on-usr1      the wave starts at the first SIGUSR1 instead (-at is not
//	              used): a test starts it once its tracer is attached
//	-hold S       seconds the wave stays parked (default 2)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>", then "wave up" and "wave down" on stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

//go:noinline
func fanOut(n int, release chan struct{}, wg *sync.WaitGroup) {
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			<-release
			wg.Done()
		}()
	}
}

func main() {
	n := flag.Int("n", 300, "goroutines")
	at := flag.Float64("at", 1, "seconds before the wave")
	hold := flag.Float64("hold", 2, "seconds the wave is held")
	duration := flag.Float64("duration", 0, "exit after seconds")
	onUsr1 := flag.Bool("on-usr1", false, "start the wave at SIGUSR1")
	flag.Parse()
	var usr1 chan os.Signal
	if *onUsr1 {
		usr1 = make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	go func() {
		if usr1 != nil {
			<-usr1
		} else {
			time.Sleep(time.Duration(*at * float64(time.Second)))
		}
		release := make(chan struct{})
		var wg sync.WaitGroup
		fanOut(*n, release, &wg)
		fmt.Fprintln(os.Stderr, "wave up")
		time.Sleep(time.Duration(*hold * float64(time.Second)))
		close(release)
		wg.Wait()
		fmt.Fprintln(os.Stderr, "wave down")
	}()
	if *duration > 0 {
		time.Sleep(time.Duration(*duration * float64(time.Second)))
		os.Exit(0)
	}
	for { // select{} would be a deadlock once the wave is gone
		time.Sleep(time.Hour)
	}
}
