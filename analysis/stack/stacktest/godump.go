// Package stacktest generates stack-trace input for the parsers' tests and
// benchmarks, and for the bench harness, so that both measure the same
// bytes.
package stacktest

import (
	"bytes"
	"fmt"
)

// PanickingGoroutine is the id of the goroutine that panics in GoDump; the
// parser must pick it out of the others.
const PanickingGoroutine = 4242

// GoDump builds a GOTRACEBACK=all dump the way a busy HTTP service dies: a
// nil-pointer panic on one goroutine, then n goroutines parked in net/http,
// database/sql and sync machinery, each with arguments, pc offsets and a
// "created by" line, as the Go runtime prints them.
func GoDump(n int) []byte {
	var b bytes.Buffer
	b.WriteString("panic: runtime error: invalid memory address or nil pointer dereference\n")
	b.WriteString("[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x8a1f4e]\n\n")
	fmt.Fprintf(&b, "goroutine %d [running]:\n", PanickingGoroutine)
	b.WriteString("github.com/acme/shop/cart.(*Cart).Total(0x0)\n\t/app/cart/cart.go:42 +0x2e\n")
	b.WriteString("github.com/acme/shop/api.(*Server).checkout(0xc0001a2000, {0xb3c1e8, 0xc0002a4000}, 0xc0002b6000)\n\t/app/api/checkout.go:77 +0x1b8\n")
	b.WriteString("net/http.HandlerFunc.ServeHTTP(0xc000190010?, {0xb3c1e8?, 0xc0002a4000?}, 0x0?)\n\t/usr/local/go/src/net/http/server.go:2220 +0x29\n")
	b.WriteString("created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3360 +0x485\n")
	states := []string{"IO wait", "select", "chan receive, 12 minutes", "sync.Mutex.Lock", "semacquire, 3 minutes"}
	for g := 0; g < n; g++ {
		fmt.Fprintf(&b, "\ngoroutine %d [%s]:\n", g+5, states[g%len(states)])
		b.WriteString("runtime.gopark(0xc00012fa18?, 0x2?, 0x0?, 0x0?, 0xc00012f9e4?)\n\t/usr/local/go/src/runtime/proc.go:435 +0xce\n")
		b.WriteString("runtime.selectgo(0xc00012fa18, 0xc00012f9e0, 0x0?, 0x0, 0x0?, 0x1)\n\t/usr/local/go/src/runtime/select.go:351 +0x837\n")
		for d := 0; d < 4+g%6; d++ {
			fmt.Fprintf(&b, "github.com/acme/shop/worker%d.(*Pool).loop%d(0xc0001b%04x, {0xb3c1e8, 0xc0002a4000})\n", d, d, g)
			fmt.Fprintf(&b, "\t/app/worker%d/pool.go:%d +0x%x\n", d, 40+d*7, 0x1b8+g%200)
		}
		b.WriteString("database/sql.(*DB).connectionOpener(0xc0000f2000, {0xb3c220, 0xc0000b4050})\n\t/usr/local/go/src/database/sql/sql.go:1261 +0x87\n")
		fmt.Fprintf(&b, "created by github.com/acme/shop/worker0.Start in goroutine %d\n\t/app/worker0/start.go:18 +0x10f\n", 1+g%7)
	}
	b.WriteString("exit status 2\n")
	return b.Bytes()
}
