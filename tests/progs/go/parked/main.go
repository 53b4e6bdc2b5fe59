// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// parked starts goroutines that block forever at known places, prints
// "ready <pid>" and sleeps: the fixture for reading goroutines that already
// exist (tests/unit/test_goruntime.c).
//
//	-recv N    goroutines parked in main.blockRecv on "chan receive"
//	-send N    goroutines parked in main.blockSend on "chan send"
//	-select N  goroutines parked in main.blockSelect on "select"
//	-syscall N goroutines blocked in a read(2) in main.blockSyscall
//	-spin N    goroutines spinning on a CPU in main.spin
//	-deep N    goroutines parked on "chan receive" under 300 main.recurse
//	           frames (stacks larger than one read)
//	-timeout D exit after D (a safety net for tests that die)
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

//go:noinline
func blockRecv(ch chan int) {
	<-ch
}

//go:noinline
func blockSend(ch chan int) {
	ch <- 1
}

//go:noinline
func blockSelect(recvFrom, sendTo chan int) {
	select {
	case <-recvFrom:
	case sendTo <- 1:
	}
}

// blockSyscall reads a pipe nobody writes to, in a blocking read(2): the
// goroutine stays in _Gsyscall (os.File would use the netpoller instead).
//
//go:noinline
func blockSyscall() {
	var p [2]int
	var b [1]byte

	if err := syscall.Pipe(p[:]); err != nil {
		panic(err)
	}
	syscall.Read(p[0], b[:])
}

//go:noinline
func recurse(depth int, ch chan int) int {
	var pad [8]int

	if depth == 0 {
		<-ch
		return 0
	}
	pad[depth%8] = depth
	return recurse(depth-1, ch) + pad[depth%8]
}

var spins uint64

//go:noinline
func spin() {
	for {
		spins++
	}
}

func main() {
	recv := flag.Int("recv", 2000, "goroutines blocked on chan receive")
	send := flag.Int("send", 1000, "goroutines blocked on chan send")
	sel := flag.Int("select", 500, "goroutines blocked in select")
	sysc := flag.Int("syscall", 0, "goroutines blocked in read(2)")
	spinning := flag.Int("spin", 0, "goroutines spinning on a CPU")
	deep := flag.Int("deep", 0, "goroutines parked under 300 frames")
	timeout := flag.Duration("timeout", 5*time.Minute, "exit after this long")
	flag.Parse()

	// One channel per kind: a sender and a receiver on the same channel
	// would pair up and both leave.
	recvCh, sendCh := make(chan int), make(chan int)
	selA, selB := make(chan int), make(chan int)
	for i := 0; i < *recv; i++ {
		go blockRecv(recvCh)
	}
	for i := 0; i < *send; i++ {
		go blockSend(sendCh)
	}
	for i := 0; i < *sel; i++ {
		go blockSelect(selA, selB)
	}
	for i := 0; i < *sysc; i++ {
		go blockSyscall()
	}
	for i := 0; i < *deep; i++ {
		go recurse(300, recvCh)
	}
	for i := 0; i < *spinning; i++ {
		go spin()
	}
	// Let every goroutine reach its park point before saying ready. A GC
	// stamps g.waitsince on the blocked goroutines it scans with the end
	// time of the previous GC (0 during the first one): run two.
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	runtime.GC()
	fmt.Printf("ready %d\n", os.Getpid())
	time.Sleep(*timeout)
}
