package labelmemo

import (
	"fmt"
	"reflect"
	"testing"
)

func TestMemo(t *testing.T) {
	var m Memo[int]
	var sets []map[string]string
	for i := range ways + ways/2 { // more than the front holds, fewer than MaxEntries
		sets = append(sets, map[string]string{"pod": fmt.Sprint(i)})
	}
	if _, ok := m.Get(sets[0]); ok {
		t.Fatal("empty memo has a value")
	}
	for i, s := range sets {
		m.Put(s, i)
	}
	for round := range 2 { // the second round reads what the first moved to the front
		for i, s := range sets {
			if v, ok := m.Get(s); !ok || v != i {
				t.Fatalf("round %d: Get(set %d) = %d, %v", round, i, v, ok)
			}
		}
	}
	if got, want := identity(sets[1]), reflect.ValueOf(sets[1]).Pointer(); got != want {
		t.Fatalf("identity = %#x, reflect says %#x", got, want)
	}
	// Another map with equal contents is another label set.
	if _, ok := m.Get(map[string]string{"pod": "0"}); ok {
		t.Fatal("a different map was found")
	}
	if _, ok := m.Get(nil); ok {
		t.Fatal("nil map was found")
	}
}

func TestMemoStartsOver(t *testing.T) {
	var m Memo[int]
	var sets []map[string]string
	for i := range MaxEntries {
		s := map[string]string{"pod": fmt.Sprint(i)}
		sets = append(sets, s)
		if !m.Put(s, i) {
			t.Fatalf("memo started over at %d entries", i)
		}
	}
	extra := map[string]string{"pod": "extra"}
	if m.Put(extra, -1) {
		t.Fatal("Put past MaxEntries did not report starting over")
	}
	if v, ok := m.Get(extra); !ok || v != -1 {
		t.Fatalf("Get(extra) = %d, %v after starting over", v, ok)
	}
	for i, s := range sets {
		if _, ok := m.Get(s); ok {
			t.Fatalf("set %d survived starting over", i)
		}
	}
}
