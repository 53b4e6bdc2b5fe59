// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// symtest exercises the Go symbol-table reader (user/gopclntab.c): methods on
// pointer and value receivers, closures, generics, small functions the
// compiler inlines (several levels deep), a goroutine, a deep call chain and
// an interface call. It runs a short workload, prints a checksum and exits.
// With -wait it parks until stdin is closed, so a tracer can attach.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

type Number interface {
	~int | ~int64 | ~float64
}

// Sum is generic; every instantiation gets its own shape function.
func Sum[T Number](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

// Map is generic and takes a closure.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

type Stack[T any] struct {
	items []T
}

func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

func (s *Stack[T]) Pop() (T, bool) {
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

type Shape interface {
	Area() float64
	Name() string
}

type Rect struct{ W, H float64 }

func (r Rect) Area() float64 { return r.W * r.H }
func (r Rect) Name() string   { return "rect" }

type Circle struct{ R float64 }

func (c *Circle) Area() float64 { return 3.14159 * c.R * c.R }
func (c *Circle) Name() string   { return "circle" }

type Registry struct {
	mu     sync.Mutex
	shapes map[string][]Shape
	total  float64
}

func NewRegistry() *Registry {
	return &Registry{shapes: make(map[string][]Shape)}
}

// add is small and gets inlined into Register.
func (r *Registry) add(s Shape) {
	r.shapes[s.Name()] = append(r.shapes[s.Name()], s)
}

func (r *Registry) Register(s Shape) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(s)
	r.total += s.Area()
}

func (r *Registry) Total() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Three levels of small functions that the compiler inlines into callers.
func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func scale(v int) int { return clamp(v*3, -1000, 1000) }

func mix(a, b int) int { return scale(a) ^ scale(b+1) }

//go:noinline
func work(n int) int {
	acc := 0
	for i := 0; i < n; i++ {
		acc += mix(i, acc)
	}
	return acc
}

// A deep call chain of functions that are never inlined.
//
//go:noinline
func level1(n int) int { return level2(n+1) + 1 }

//go:noinline
func level2(n int) int { return level3(n*2) + 2 }

//go:noinline
func level3(n int) int { return level4(n-1) + 3 }

//go:noinline
func level4(n int) int { return level5(n+7) + 4 }

//go:noinline
func level5(n int) int { return level6(n/2) + 5 }

//go:noinline
func level6(n int) int { return level7(n+3) + 6 }

//go:noinline
func level7(n int) int { return level8(n*5) + 7 }

//go:noinline
func level8(n int) int { return recurse(n%17, 0) + mix(n, 8) }

//go:noinline
func recurse(depth, acc int) int {
	if depth == 0 {
		return acc
	}
	return recurse(depth-1, acc+scale(depth))
}

func makeCounter() func() int {
	c := 0
	return func() int {
		c++
		return c * c
	}
}

func words(text string) map[string]int {
	counts := make(map[string]int)
	for _, w := range strings.Fields(text) {
		counts[strings.ToLower(strings.Trim(w, ".,;:"))]++
	}
	return counts
}

func topWords(counts map[string]int, n int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

//go:noinline
func producer(out chan<- int, n int, wg *sync.WaitGroup) {
	defer wg.Done()
	next := makeCounter()
	for i := 0; i < n; i++ {
		out <- next() + level1(i)
	}
	close(out)
}

func main() {
	wait := len(os.Args) > 1 && os.Args[1] == "-wait"

	reg := NewRegistry()
	for i := 1; i <= 20; i++ {
		reg.Register(Rect{W: float64(i), H: 2})
		reg.Register(&Circle{R: float64(i) / 4})
	}

	var st Stack[string]
	for _, w := range topWords(words(corpus), 5) {
		st.Push(w)
	}
	var popped []string
	for {
		w, ok := st.Pop()
		if !ok {
			break
		}
		popped = append(popped, w)
	}

	ch := make(chan int, 8)
	var wg sync.WaitGroup
	wg.Add(1)
	go producer(ch, 50, &wg)
	var got []int
	for v := range ch {
		got = append(got, v)
	}
	wg.Wait()

	lens := Map(popped, func(s string) int { return len(s) })
	floats := Map(got, func(v int) float64 { return float64(v) / 3 })
	fmt.Printf("total=%.2f words=%v lens=%d ints=%d floats=%.1f work=%d\n",
		reg.Total(), popped, Sum(lens), Sum(got), Sum(floats), work(1000))

	if wait {
		buf := make([]byte, 1)
		for {
			if _, err := os.Stdin.Read(buf); err != nil {
				return
			}
		}
	}
}

const corpus = `The quick brown fox jumps over the lazy dog. The dog sleeps;
the fox runs. A fox is quick, a dog is lazy: the end of the story of the fox.`
