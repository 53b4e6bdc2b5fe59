// cache is a healthy in-memory cache: after -fill-delay-s it fills a global
// map with 64 KiB values (main.(*cache).fill -> main.(*cache).put) until it
// holds -cap-mb MiB, spreading the fill over -fill-s seconds, then holds:
// -readers goroutines (started at once) keep looking entries up, nothing is
// added or released. Resident memory rises, then stays flat: a plateau,
// never a leak.
//
// Flags:
//
//	-cap-mb N        cache capacity in MiB (default 64)
//	-fill-s S        seconds the fill takes (default 4)
//	-fill-delay-s S  seconds between ready and the start of the fill (default 0)
//	-start-on-usr1   start the fill when SIGUSR1 comes instead (a test sends
//	                 it once the tracer has taken its first sample)
//	-readers N       reader goroutines (default 4)
//	-duration S      exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up, and "full" when the cap is reached.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const valueSize = 64 << 10

type cache struct {
	mu      sync.RWMutex
	entries map[string][]byte
	bytes   int
	hits    uint64
}

//go:noinline
func (c *cache) put(key string) {
	v := make([]byte, valueSize)
	for i := 0; i < len(v); i += 4096 {
		v[i] = byte(i >> 12)
	}
	c.mu.Lock()
	c.entries[key] = v
	c.bytes += len(v)
	c.mu.Unlock()
}

func (c *cache) get(key string) []byte {
	c.mu.RLock()
	v := c.entries[key]
	c.mu.RUnlock()
	return v
}

//go:noinline
func (c *cache) fill(capBytes int, over time.Duration) {
	n := capBytes / valueSize
	start := time.Now()
	for i := 0; i < n; i++ {
		c.put("key-" + strconv.Itoa(i))
		// pace the fill evenly over `over`
		if d := time.Until(start.Add(over * time.Duration(i+1) / time.Duration(n))); d > 0 {
			time.Sleep(d)
		}
	}
}

func (c *cache) reader(id int, n int) {
	for i := id; ; i++ {
		if v := c.get("key-" + strconv.Itoa(i%n)); v != nil {
			c.mu.Lock()
			c.hits++
			c.mu.Unlock()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	capMB := flag.Int("cap-mb", 64, "cache capacity in MiB")
	fillS := flag.Float64("fill-s", 4, "seconds the fill takes")
	delayS := flag.Float64("fill-delay-s", 0, "seconds between ready and the fill")
	readers := flag.Int("readers", 4, "reader goroutines")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	onUsr1 := flag.Bool("start-on-usr1", false, "start the fill when SIGUSR1 comes")
	flag.Parse()
	usr1 := make(chan os.Signal, 1)
	if *onUsr1 {
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	if *capMB <= 0 || *fillS < 0 || *delayS < 0 || *readers < 0 {
		fmt.Fprintln(os.Stderr, "cache: bad flags")
		os.Exit(2)
	}
	c := &cache{entries: make(map[string][]byte)}
	n := *capMB << 20 / valueSize
	for i := 0; i < *readers; i++ {
		go c.reader(i, n)
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	if *onUsr1 {
		<-usr1
	} else {
		time.Sleep(time.Duration(*delayS * float64(time.Second)))
	}
	c.fill(*capMB<<20, time.Duration(*fillS*float64(time.Second)))
	fmt.Println("full")
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour) // idle; a bare select{} would be a deadlock
	}
}
