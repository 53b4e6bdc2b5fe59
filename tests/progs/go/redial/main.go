// redial reproduces story 3 of SCENARIOS.md: a client helper that dials
// again whenever the previous call failed, for any error. Every dial
// (main.callWithRetry -> main.dial) starts three transport goroutines that
// block forever and allocates two buffers that are never released:
//
//	main.(*transport).reader     parked in "chan receive"
//	main.(*transport).writer     parked in sync.Cond.Wait
//	main.(*transport).keepalive  parked in "select"
//	bufio.NewReaderSize(conn, -buf-kb) and main.newBufWriter(-buf-kb),
//	the latter written in full (a handshake preface), so it is resident.
//
// A fixed pool of idle healthy goroutines exists from the start.
//
// Flags:
//
//	-call-rate N   calls per second (default 20)
//	-fail-rate N   failed calls per second (default 2); each failure makes
//	               the next call redial
//	-buf-kb N      size of each transport buffer, KiB (default 1024)
//	-idle N        healthy idle goroutines started at startup (default 64)
//	-max-dials N   stop redialing after N dials (default 5000)
//	-duration S    exit 0 after S seconds (default 0: run until killed)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

var errUnavailable = errors.New("rpc error: code = Unavailable")

type fakeConn struct{ id int }

func (c *fakeConn) Read(p []byte) (int, error) { return 0, errUnavailable }

type bufWriter struct {
	buf    []byte
	offset int
}

//go:noinline
func newBufWriter(size int) *bufWriter {
	w := &bufWriter{buf: make([]byte, size)}
	// The connection preface is staged in the buffer: it is written in full.
	for i := 0; i < len(w.buf); i += 512 {
		w.buf[i] = byte(i >> 9)
	}
	w.offset = len(w.buf)
	return w
}

type transport struct {
	id      int
	conn    *fakeConn
	br      *bufio.Reader
	bw      *bufWriter
	readCh  chan []byte
	mu      sync.Mutex
	cond    *sync.Cond
	pending int
	pingCh  chan struct{}
	closeCh chan struct{}
}

func (t *transport) reader() {
	for b := range t.readCh {
		_ = b
	}
}

func (t *transport) writer() {
	t.mu.Lock()
	for t.pending == 0 {
		t.cond.Wait()
	}
	t.mu.Unlock()
}

func (t *transport) keepalive() {
	for {
		select {
		case <-t.pingCh:
		case <-t.closeCh:
			return
		}
	}
}

var dials int

//go:noinline
func dial(target string, bufSize int) *transport {
	dials++
	t := &transport{
		id:      dials,
		conn:    &fakeConn{id: dials},
		readCh:  make(chan []byte),
		pingCh:  make(chan struct{}),
		closeCh: make(chan struct{}),
	}
	t.cond = sync.NewCond(&t.mu)
	t.br = bufio.NewReaderSize(t.conn, bufSize)
	t.bw = newBufWriter(bufSize)
	go t.reader()
	go t.writer()
	go t.keepalive()
	return t
}

type client struct {
	target   string
	t        *transport
	lastErr  error
	bufSize  int
	maxDials int
}

//go:noinline
func (t *transport) invoke(n int64, failEvery int64) error {
	if n%failEvery == failEvery-1 {
		return errUnavailable
	}
	return nil
}

// callWithRetry is the bug: it redials after any error, never closing the
// old transport.
//
//go:noinline
func callWithRetry(c *client, n int64, failEvery int64) error {
	if c.t == nil || (c.lastErr != nil && dials < c.maxDials) {
		c.t = dial(c.target, c.bufSize)
	}
	c.lastErr = c.t.invoke(n, failEvery)
	return c.lastErr
}

//go:noinline
func callLoop(c *client, callRate, failRate float64) {
	failEvery := int64(1)
	if failRate > 0 && callRate > failRate {
		failEvery = int64(callRate/failRate + 0.5)
	} else if failRate <= 0 {
		failEvery = 1 << 62
	}
	start := time.Now()
	var n int64
	for {
		due := int64(callRate * time.Since(start).Seconds())
		for n < due {
			callWithRetry(c, n, failEvery)
			n++
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func idleWorker(work chan func()) {
	for f := range work {
		f()
	}
}

func main() {
	callRate := flag.Float64("call-rate", 20, "calls per second")
	failRate := flag.Float64("fail-rate", 2, "failed calls per second")
	bufKB := flag.Int("buf-kb", 1024, "transport buffer size, KiB")
	idle := flag.Int("idle", 64, "healthy idle goroutines")
	maxDials := flag.Int("max-dials", 5000, "stop redialing after this many dials")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	flag.Parse()
	if *callRate <= 0 || *failRate < 0 || *bufKB <= 0 {
		fmt.Fprintln(os.Stderr, "redial: bad flags")
		os.Exit(2)
	}
	work := make(chan func())
	for i := 0; i < *idle; i++ {
		go idleWorker(work)
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	c := &client{target: "orders.svc:443", bufSize: *bufKB << 10, maxDials: *maxDials}
	callWithRetry(c, 0, 1<<62) // first dial, successful call
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	callLoop(c, *callRate, *failRate)
}
