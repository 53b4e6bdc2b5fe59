package main

// Linked, never served: the linker keeps heap profiling on.
import _ "net/http/pprof"
