// heapgrow reproduces story 5 of SCENARIOS.md: a session store keeps a value
// per request in a global map keyed by the request pointer and never clears
// it. The heap grows through main.serve -> main.handleRequest ->
// main.storeSession while the goroutine count stays flat (requests are
// served one at a time on the main goroutine).
//
// Flags:
//
//	-rate N        requests per second (default 50)
//	-value-kb N    bytes stored per request, KiB (default 64)
//	-duration S    exit 0 after S seconds (default 0: run until killed)
//	-max-mb N      stop storing after N MiB (default 2048)
//
// Prints "ready pid=<pid>" once set up.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

type request struct {
	id     int64
	method string
	path   string
	header map[string]string
}

type response struct {
	status int
	n      int
}

// sessions is the leak: keyed by request, cleared by nobody.
var sessions = map[*request][]byte{}

var storedBytes int64

//go:noinline
func storeSession(r *request, size int) {
	v := make([]byte, size)
	// A session value is written in full: every page is touched here.
	for i := 0; i < len(v); i += 512 {
		v[i] = byte(r.id) + byte(i>>9)
	}
	sessions[r] = v
	storedBytes += int64(size)
}

//go:noinline
func handleRequest(r *request, valueSize int) response {
	storeSession(r, valueSize)
	return response{status: 200, n: len(r.path)}
}

//go:noinline
func readRequest(id int64) *request {
	return &request{
		id:     id,
		method: "GET",
		path:   "/ws/session/" + strconv.FormatInt(id, 10),
		header: map[string]string{"Connection": "Upgrade"},
	}
}

//go:noinline
func serve(rate float64, valueSize int, maxBytes int64) {
	start := time.Now()
	var served int64
	for {
		due := int64(rate * time.Since(start).Seconds())
		for served < due && storedBytes+int64(valueSize) <= maxBytes {
			r := readRequest(served)
			if resp := handleRequest(r, valueSize); resp.status != 200 {
				panic("bad status")
			}
			served++
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	rate := flag.Float64("rate", 50, "requests per second")
	valueKB := flag.Int("value-kb", 64, "bytes stored per request, KiB")
	duration := flag.Float64("duration", 0, "exit after this many seconds (0: never)")
	maxMB := flag.Int64("max-mb", 2048, "stop storing after this many MiB")
	flag.Parse()
	if *rate < 0 || *valueKB <= 0 {
		fmt.Fprintln(os.Stderr, "heapgrow: bad flags")
		os.Exit(2)
	}
	if *duration > 0 {
		time.AfterFunc(time.Duration(*duration*float64(time.Second)), func() { os.Exit(0) })
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	os.Stdout.Sync()
	serve(*rate, *valueKB<<10, *maxMB<<20)
}
