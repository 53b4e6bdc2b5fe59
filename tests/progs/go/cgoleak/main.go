// cgo leak (issue 5): main.leakBuffers calls C.leak_buffer, which mallocs
// 256 KiB (glibc serves that with mmap) and never frees it, -rate times a
// second. The site's stack must cross from the C frames back to the Go
// function that called them, or say where it stops.
package main

/*
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *leak_buffer(size_t n)
{
	char *p = malloc(n);

	if (p)
		memset(p, 1, n);
	return p;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var kept []uintptr

//go:noinline
func leakBuffers(n int) {
	for i := 0; i < n; i++ {
		kept = append(kept, uintptr(C.leak_buffer(256<<10)))
	}
}

func main() {
	rate := flag.Int("rate", 20, "buffers leaked per second")
	flag.Parse()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	for {
		leakBuffers(*rate / 10)
		time.Sleep(100 * time.Millisecond)
	}
}
