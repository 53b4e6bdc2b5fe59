// lazyfree reproduces story 2 of SCENARIOS.md: RSS far above the live heap
// because the Go runtime returned freed memory with MADV_FREE (Go
// 1.12-1.15, or any Go run with GODEBUG=madvdontneed=0). The kernel keeps
// such pages resident, counted as LazyFree in smaps, until memory is
// short.
//
// It allocates -mb MiB in 1 MiB slices (main.allocate), touches every page,
// drops them all and calls runtime.GC() and debug.FreeOSMemory(), so the
// runtime hands the memory back at once, then idles. Run it with
// GODEBUG=madvdontneed=0 for MADV_FREE.
//
// Flags:
//
//	-mb N            MiB to allocate and free (default 300)
//	-free-after S    free S seconds after ready instead of before it
//	                 (default 0: before ready), so a tracer attached in
//	                 between sees the madvise calls
//	-free-on-usr1    free when SIGUSR1 comes instead (a test sends it once
//	                 the tracer has taken its first sample)
//	-duration S      exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up and "freed" after releasing.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
)

var held [][]byte

//go:noinline
func allocate(mb int) {
	held = make([][]byte, 0, mb)
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
}

//go:noinline
func release() {
	held = nil
	runtime.GC()
	debug.FreeOSMemory()
}

func main() {
	mb := flag.Int("mb", 300, "MiB to allocate and free")
	freeAfter := flag.Float64("free-after", 0, "seconds after ready to free (0: before ready)")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	onUsr1 := flag.Bool("free-on-usr1", false, "free when SIGUSR1 comes")
	flag.Parse()
	if *mb <= 0 || *freeAfter < 0 {
		fmt.Fprintln(os.Stderr, "lazyfree: bad flags")
		os.Exit(2)
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	usr1 := make(chan os.Signal, 1)
	if *onUsr1 {
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	allocate(*mb)
	if *freeAfter == 0 && !*onUsr1 {
		release()
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	if *onUsr1 {
		<-usr1
		release()
	} else if *freeAfter > 0 {
		time.Sleep(time.Duration(*freeAfter * float64(time.Second)))
		release()
	}
	fmt.Println("freed")
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour) // idle; a bare select{} would be a deadlock
	}
}
