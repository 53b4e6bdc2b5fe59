// flat allocates and frees a lot with a bounded working set: a fixed number
// of slots whose buffers are replaced at a steady rate, plus short-lived
// garbage. Heap, RSS and goroutines stay flat (after a warm-up that happens
// before "ready" is printed).
//
// Flags:
//
//	-rate N        slot replacements per second (default 1000)
//	-slots N       working-set slots (default 256)
//	-warmup S      seconds of work before printing ready (default 1)
//	-duration S    exit 0 after S seconds (default 0: run until killed)
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"time"
)

var (
	slots [][]byte
	sink  uint64
)

//go:noinline
func replace(rng *rand.Rand) {
	i := rng.Intn(len(slots))
	size := 1024 + rng.Intn(127*1024) // 1 KiB .. 128 KiB
	b := make([]byte, size)
	for j := 0; j < len(b); j += 1024 {
		b[j] = byte(j)
	}
	slots[i] = b
	// short-lived garbage
	tmp := make([]uint64, 64)
	for j := range tmp {
		tmp[j] = uint64(j * i)
	}
	sink += tmp[i%64]
}

//go:noinline
func work(rng *rand.Rand, rate float64, start time.Time, done *int64, until time.Time) {
	for {
		now := time.Now()
		if !until.IsZero() && now.After(until) {
			return
		}
		due := int64(rate * now.Sub(start).Seconds())
		for *done < due {
			replace(rng)
			*done++
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	rate := flag.Float64("rate", 1000, "slot replacements per second")
	n := flag.Int("slots", 256, "working-set slots")
	warmup := flag.Float64("warmup", 1, "seconds of work before ready")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *n <= 0 || *rate < 0 {
		fmt.Fprintln(os.Stderr, "flat: bad flags")
		os.Exit(2)
	}
	slots = make([][]byte, *n)
	rng := rand.New(rand.NewSource(1))
	start := time.Now()
	var done int64
	for i := 0; i < *n; i++ {
		replace(rng)
	}
	work(rng, *rate, start, &done, start.Add(time.Duration(*warmup*float64(time.Second))))
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	work(rng, *rate, start, &done, time.Time{})
}
