// safety is a concurrency-heavy, deterministic workload for checking that a
// tracer attached to it (uprobes on the Go runtime) changes nothing: it
// creates -goroutines goroutines in total over -rounds rounds (some of them
// growing their stacks deeply, so stacks get copied), does channel ping-pong
// between -pairs goroutine pairs, contends on a mutex, and prints a checksum
// that depends only on the flags, never on scheduling:
//
//	ready pid=<pid>
//	checksum=<16 hex digits>
//
// then exits 0.
//
// Flags:
//
//	-goroutines N  goroutines created in total (default 1000000)
//	-rounds N      rounds the work is split into (default 100)
//	-pairs N       ping-pong pairs per round (default 8)
//	-hops N        ping-pong round trips per pair per round (default 500)
//	-spread S      pace rounds so the run lasts at least S seconds (default 0)
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// grow recurses with a fat frame so that the goroutine's stack is copied
// several times.
//
//go:noinline
func grow(n int, x uint64) uint64 {
	var pad [128]byte
	pad[n%128] = byte(x)
	if n == 0 {
		return x + uint64(pad[0])
	}
	return grow(n-1, mix(x)) + uint64(pad[n%128])
}

type state struct {
	atomicSum uint64
	mu        sync.Mutex
	muSum     uint64
	muCount   uint64
}

//go:noinline
func task(st *state, round, i int, res chan<- uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	h := mix(uint64(round)<<32 | uint64(i))
	if i%64 == 0 {
		h = grow(100+i%200, h)
	}
	switch i % 4 {
	case 0, 1:
		res <- h // unbuffered: parks until the collector takes it
	case 2:
		atomic.AddUint64(&st.atomicSum, h)
	default:
		st.mu.Lock()
		st.muSum += h
		st.muCount++
		st.mu.Unlock()
	}
}

//go:noinline
func pingPong(seed uint64, hops int) uint64 {
	ping := make(chan uint64)
	pong := make(chan uint64)
	go func() {
		for x := range ping {
			pong <- mix(x ^ 0xa5a5a5a5)
		}
		close(pong)
	}()
	x := seed
	for i := 0; i < hops; i++ {
		ping <- x
		x = <-pong
	}
	close(ping)
	<-pong // wait for the partner to finish
	return x
}

//go:noinline
func round(st *state, r, n, pairs, hops int) uint64 {
	res := make(chan uint64)
	collected := make(chan uint64)
	go func() {
		var s uint64
		for h := range res {
			s += h
		}
		collected <- s
	}()

	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go task(st, r, i, res, &wg)
	}

	pp := make([]uint64, pairs)
	var pwg sync.WaitGroup
	pwg.Add(pairs)
	for p := 0; p < pairs; p++ {
		go func(p int) {
			defer pwg.Done()
			pp[p] = pingPong(mix(uint64(r*1000+p)), hops)
		}(p)
	}

	wg.Wait()
	close(res)
	sum := <-collected
	pwg.Wait()
	for _, v := range pp {
		sum += v
	}
	return sum
}

func main() {
	total := flag.Int("goroutines", 1000000, "goroutines created in total")
	rounds := flag.Int("rounds", 100, "rounds")
	pairs := flag.Int("pairs", 8, "ping-pong pairs per round")
	hops := flag.Int("hops", 500, "ping-pong round trips per pair per round")
	spread := flag.Float64("spread", 0, "run for at least this many seconds")
	flag.Parse()
	if *rounds <= 0 || *total < *rounds || *pairs < 0 || *hops < 0 {
		fmt.Fprintln(os.Stderr, "safety: bad flags")
		os.Exit(2)
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()

	st := &state{}
	start := time.Now()
	per := *total / *rounds
	var sum uint64
	for r := 0; r < *rounds; r++ {
		n := per
		if r == *rounds-1 {
			n = *total - per*(*rounds-1)
		}
		if *spread > 0 {
			at := start.Add(time.Duration(float64(r) / float64(*rounds) * *spread * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
		}
		sum = mix(sum ^ round(st, r, n, *pairs, *hops))
	}
	sum = mix(sum ^ atomic.LoadUint64(&st.atomicSum))
	sum = mix(sum ^ st.muSum ^ st.muCount)
	fmt.Printf("checksum=%016x\n", sum)
}
