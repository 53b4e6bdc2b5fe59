// heapprof allocates known sizes from known functions so that a heap
// profile read from outside (leaktrace's runtime.mbuckets reader) can be
// compared with what runtime.MemProfile says inside the same process.
//
// It keeps 300 objects of 4096 bytes from main.keepPages, 2000 of 48 bytes
// from main.keepSmall and frees everything main.churn allocates, then
// runs runtime.GC() twice (the heap profile publishes a cycle's counts
// one GC after it) and prints, per innermost main.* function of each
// record's stack, what runtime.MemProfile reports:
//
//	memprofile FUNC inuse_objects N inuse_bytes B alloc_objects N alloc_bytes B
//
// then "ready pid=<pid>" and sleeps (no allocation, no GC) until killed
// or -duration ends. MemProfileRate is this program's own choice (-rate;
// 1 records every allocation); an outside reader only reads it.
//
// Flags:
//
//	-rate N       runtime.MemProfileRate (default 1; 0 keeps the default;
//	              -1 sets it to 0: profiling off)
//	-stacks N     also make N distinct allocation stacks in main.fanout*
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//	-quiet        print only the ready line
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

var kept [][]byte

//go:noinline
func keepPages(n int) {
	for i := 0; i < n; i++ {
		kept = append(kept, make([]byte, 4096))
	}
}

//go:noinline
func keepSmall(n int) {
	for i := 0; i < n; i++ {
		kept = append(kept, make([]byte, 48))
	}
}

var sink []byte

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 1024)
	}
	sink = nil
}

// fanout0/fanout1 recurse by the bits of path: every path is its own
// allocation stack (depth levels, 2^depth stacks).
//
//go:noinline
func fanout0(path, depth int) {
	if depth == 0 {
		kept = append(kept, make([]byte, 64))
		return
	}
	if path&1 == 0 {
		fanout0(path>>1, depth-1)
	} else {
		fanout1(path>>1, depth-1)
	}
}

//go:noinline
func fanout1(path, depth int) {
	if depth == 0 {
		kept = append(kept, make([]byte, 64))
		return
	}
	if path&1 == 0 {
		fanout0(path>>1, depth-1)
	} else {
		fanout1(path>>1, depth-1)
	}
}

type tally struct {
	inuseObj, inuseBytes, allocObj, allocBytes int64
}

// innermost main.* function of a record's stack.
func owner(stk []uintptr) string {
	frames := runtime.CallersFrames(stk)
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "main.") {
			return f.Function
		}
		if !more {
			return ""
		}
	}
}

func main() {
	rate := flag.Int("rate", 1, "runtime.MemProfileRate (0: keep the default)")
	stacks := flag.Int("stacks", 0, "distinct allocation stacks to make")
	duration := flag.Float64("duration", 0, "seconds to run (0: forever)")
	quiet := flag.Bool("quiet", false, "print only the ready line")
	flag.Parse()
	if *rate > 0 {
		runtime.MemProfileRate = *rate
	} else if *rate < 0 {
		runtime.MemProfileRate = 0 // profiling off from here on
	}
	keepPages(300)
	keepSmall(2000)
	churn(5000)
	if *stacks > 0 {
		depth := 0
		for 1<<depth < *stacks {
			depth++
		}
		for p := 0; p < *stacks; p++ {
			fanout0(p, depth)
		}
	}
	runtime.GC()
	runtime.GC()

	recs := make([]runtime.MemProfileRecord, 64)
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	by := map[string]*tally{}
	for i := range recs {
		r := &recs[i]
		fn := owner(r.Stack())
		if fn == "" {
			continue
		}
		t := by[fn]
		if t == nil {
			t = &tally{}
			by[fn] = t
		}
		t.inuseObj += r.InUseObjects()
		t.inuseBytes += r.InUseBytes()
		t.allocObj += r.AllocObjects
		t.allocBytes += r.AllocBytes
	}
	names := make([]string, 0, len(by))
	for fn := range by {
		names = append(names, fn)
	}
	sort.Strings(names)
	for _, fn := range names {
		if *quiet {
			break
		}
		t := by[fn]
		fmt.Printf("memprofile %s inuse_objects %d inuse_bytes %d alloc_objects %d alloc_bytes %d\n",
			fn, t.inuseObj, t.inuseBytes, t.allocObj, t.allocBytes)
	}
	if !*quiet {
		fmt.Printf("memprofile_rate %d records %d\n", runtime.MemProfileRate, len(recs))
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	if *duration > 0 {
		time.Sleep(time.Duration(*duration * float64(time.Second)))
		runtime.KeepAlive(kept)
		return
	}
	for {
		time.Sleep(time.Hour)
	}
}
