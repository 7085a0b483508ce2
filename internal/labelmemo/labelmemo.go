// Package labelmemo remembers a value per label set by the identity of the
// set's map. Sources hand out one shared, read-only map per stream (one per
// reading goroutine), so the map's address names the stream; the steps that
// look at every entry of a log (is its stream in a trace, which version was
// it) then find their state without hashing labels. A Memo holds the maps
// it remembers, so their addresses cannot be reused while remembered.
package labelmemo

import "unsafe"

// ways is the size of the direct-mapped front of a Memo: several times
// the label sets of a typical query (streams times reading goroutines), so
// that few of them share a slot, and small enough for the L2 cache.
const ways = 2048

// MaxEntries bounds a Memo; past it the memo starts over, and values are
// computed again.
const MaxEntries = 4096

type entry[V any] struct {
	p      uintptr
	labels map[string]string
	v      V
}

// Memo maps label sets, by identity, to values of type V. The zero Memo is
// ready to use; it is not safe for concurrent use.
type Memo[V any] struct {
	front [ways]entry[V]
	back  map[uintptr]entry[V]
}

// Get returns the value remembered for labels.
func (m *Memo[V]) Get(labels map[string]string) (V, bool) {
	p := identity(labels)
	if p == 0 {
		var zero V
		return zero, false
	}
	f := &m.front[slot(p)]
	if f.p == p {
		return f.v, true
	}
	e, ok := m.back[p]
	if ok {
		*f = e
	}
	return e.v, ok
}

// Put remembers v for labels. It reports false when the memo started over
// to make room, so that a caller keeping derived state can drop it too.
func (m *Memo[V]) Put(labels map[string]string, v V) bool {
	p := identity(labels)
	if p == 0 {
		return true
	}
	kept := true
	if m.back == nil {
		m.back = make(map[uintptr]entry[V])
	} else if len(m.back) >= MaxEntries {
		m.Reset()
		m.back = make(map[uintptr]entry[V])
		kept = false
	}
	e := entry[V]{p, labels, v}
	m.back[p] = e
	m.front[slot(p)] = e
	return kept
}

// Reset forgets everything.
func (m *Memo[V]) Reset() {
	clear(m.front[:])
	m.back = nil
}

// identity is the address of the map labels refers to (what
// reflect.Value.Pointer returns, without its cost on every entry).
func identity(labels map[string]string) uintptr {
	return uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&labels)))
}

// slot spreads map addresses (multiples of 8 or more) over the front.
func slot(p uintptr) uintptr { return (p>>4 ^ p>>13) % ways }
