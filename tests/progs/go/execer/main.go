// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// execer starts goroutines that leak (each blocks forever in
// main.leakOne), prints "ready pid=<pid>", and after -after seconds
// replaces itself with another program (syscall.Exec): the fixture for
// following an exec mid-trace (tests/e2e/test_robust.py). The goroutines
// of the old image are gone after the exec.
//
//	-rate N    leaked goroutines per second before the exec (default 50)
//	-after S   seconds from ready to the exec (default 2)
//	-on-usr1   exec at the first SIGUSR1 instead (-after is not used): a
//	           test sends it once its tracer is attached
//	then:      the program to exec and its arguments
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

//go:noinline
func leakOne(ch chan int) {
	<-ch
}

func main() {
	rate := flag.Float64("rate", 50, "leaked goroutines per second")
	after := flag.Float64("after", 2, "seconds before the exec")
	onUsr1 := flag.Bool("on-usr1", false, "exec at SIGUSR1")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: execer [-rate N] [-after S] PROGRAM [ARGS...]")
		os.Exit(2)
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	var usr1 chan os.Signal
	if *onUsr1 {
		usr1 = make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	end := time.Now().Add(time.Duration(*after * float64(time.Second)))
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
loop:
	for usr1 != nil || time.Now().Before(end) {
		select {
		case <-usr1:
			break loop
		case <-tick.C:
			go leakOne(make(chan int))
		}
	}
	argv := flag.Args()
	err := syscall.Exec(argv[0], argv, os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(1)
}
