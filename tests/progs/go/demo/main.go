// demo is the leaky service bundled for the README: an "orders" service
// whose fake request loop (main.(*Server).serveLoop -> main.(*Server).handle)
// has three leaks that are easy to watch for 15 seconds, next to healthy
// work that a good tool must not flag:
//
//   - goroutines: main.(*Notifier).Publish starts a goroutine per order that
//     blocks forever in "chan send" on an unbuffered channel nobody reads
//   - heap: main.(*SessionStore).Save keeps 32 KiB per request in a global
//     map that is never cleared
//   - mmap: main.(*BlobCache).Load maps a 256 KiB anonymous region per cache
//     miss with syscall.Mmap and never unmaps it
//   - healthy: per-request worker goroutines that finish, and garbage
//
// Flags:
//
//	-rate N       requests per second (default 20)
//	-duration S   exit 0 after S seconds (default 0: run until killed)
//	-quiet        do not print a status line every 5 s on stderr
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type Order struct {
	ID       int64
	Customer string
	Items    []string
}

// Notifier: the consumer of events was never started.
type Notifier struct {
	events chan *Order
}

//go:noinline
func (n *Notifier) Publish(o *Order) {
	go func() {
		n.events <- o
	}()
}

// SessionStore: entries are only removed by a Close the service never calls.
type SessionStore struct {
	mu       sync.Mutex
	sessions map[string][]byte
}

//go:noinline
func (s *SessionStore) Save(key string, size int) {
	v := make([]byte, size)
	for i := 0; i < len(v); i += 512 {
		v[i] = byte(i)
	}
	s.mu.Lock()
	s.sessions[key] = v
	s.mu.Unlock()
}

// BlobCache: maps a region per miss; eviction was never written.
type BlobCache struct {
	regions [][]byte
}

//go:noinline
func (c *BlobCache) Load(id int64) []byte {
	const size = 256 << 10
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: mmap:", err)
		os.Exit(1)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = byte(id)
	}
	c.regions = append(c.regions, b)
	return b
}

type Server struct {
	notifier *Notifier
	sessions *SessionStore
	blobs    *BlobCache
	served   int64
}

//go:noinline
func (s *Server) price(o *Order, wg *sync.WaitGroup, out *int64) {
	defer wg.Done()
	var total int64
	for _, it := range o.Items {
		total += int64(len(it)) * 100
	}
	*out = total
}

//go:noinline
func (s *Server) handle(id int64) {
	o := &Order{ID: id, Customer: "c" + strconv.FormatInt(id%97, 10),
		Items: []string{"apple", "pear", "plum"}}
	// healthy: a short-lived helper goroutine per request
	var wg sync.WaitGroup
	var price int64
	wg.Add(1)
	go s.price(o, &wg, &price)
	wg.Wait()

	s.sessions.Save("session-"+strconv.FormatInt(id, 10), 32<<10)
	if id%4 == 0 {
		s.notifier.Publish(o)
	}
	if id%10 == 0 {
		s.blobs.Load(id)
	}
	s.served++
}

//go:noinline
func (s *Server) serveLoop(rate float64) {
	start := time.Now()
	var n int64
	for {
		due := int64(rate * time.Since(start).Seconds())
		for n < due {
			s.handle(n)
			n++
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	rate := flag.Float64("rate", 20, "requests per second")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	quiet := flag.Bool("quiet", false, "no status lines on stderr")
	flag.Parse()
	if *rate < 0 {
		fmt.Fprintln(os.Stderr, "demo: bad flags")
		os.Exit(2)
	}
	s := &Server{
		notifier: &Notifier{events: make(chan *Order)},
		sessions: &SessionStore{sessions: map[string][]byte{}},
		blobs:    &BlobCache{},
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	if !*quiet {
		go func() {
			for {
				time.Sleep(5 * time.Second)
				fmt.Fprintf(os.Stderr, "demo: goroutines=%d\n", runtime.NumGoroutine())
			}
		}()
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	s.serveLoop(*rate)
}
