package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The mixed log is what a Loki holding a small company's services returns:
// many streams (service × pod), mostly noise (access logs, slog JSON,
// logfmt, framework chatter), and crashes in Go, Java, Python and Node
// printed one stderr line per entry, interleaved across streams. Crashes
// come from a fixed set of templates, so however long the log, the number
// of distinct incidents stays the same: that is what lets the memory rows
// show that memory follows incidents, not events.

type service struct {
	name, lang string
}

var services = []service{
	{"checkout", "go"}, {"cart", "go"}, {"gateway", "go"},
	{"payments", "java"}, {"inventory", "java"},
	{"search", "python"}, {"users", "python"},
	{"notifier", "node"},
}

const (
	podsPerService = 25 // 200 streams
	crashesPerSvc  = 5  // distinct crash sites per service
	// crashStorm is the chance that an entry starts a crash in the main
	// mixed log: one in 50, so a quarter of its lines are stack-trace
	// lines, a service in a crash loop. It is the hard case for the
	// pipeline, every trace line being reassembled and parsed.
	crashStorm = 0.02
	// crashRare is a production-like rate: one entry in 1,000 starts a
	// crash, about 1.5% of the lines belong to one.
	crashRare = 0.001
)

// distinctIncidents is how many incidents the mixed log holds, once every
// template has appeared (it does within the first megabyte).
const distinctIncidents = 8 * crashesPerSvc

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

type stream struct {
	svc     service
	labels  string // the JSON object, pre-rendered
	pending []string
}

// writeMixedLog writes a logcli jsonl file of about size bytes in which an
// entry starts a crash with probability crashRate. The seed makes runs
// reproducible.
func writeMixedLog(path string, size int64, seed uint64, crashRate float64) (lines int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create mixed log: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var streams []*stream
	for _, s := range services {
		for p := 0; p < podsPerService; p++ {
			streams = append(streams, &stream{svc: s, labels: fmt.Sprintf(
				`{"service":%q,"env":"prod","version":"v1.4.0","pod":"%s-7d9f-%03d","namespace":"shop"}`, s.name, s.name, p)})
		}
	}
	var written int64
	ts := t0
	buf := make([]byte, 0, 4096)
	open := 0 // streams in the middle of a crash
	// Past size, only crashes already begun are finished, so that no trace
	// is torn by the end of the file.
	for written < size || open > 0 {
		s := streams[rng.IntN(len(streams))]
		var line string
		switch {
		case len(s.pending) > 0:
			line, s.pending = s.pending[0], s.pending[1:]
			if len(s.pending) == 0 {
				open--
			}
		case written >= size:
			continue
		case rng.Float64() < crashRate:
			s.pending = crashLines(s.svc, rng.IntN(crashesPerSvc), rng)
			line, s.pending = s.pending[0], s.pending[1:]
			open++
		default:
			line = noiseLine(s.svc, rng, ts)
		}
		ts = ts.Add(time.Duration(50+rng.IntN(200)) * time.Microsecond)
		buf = buf[:0]
		buf = append(buf, `{"labels":`...)
		buf = append(buf, s.labels...)
		buf = append(buf, `,"line":`...)
		buf = appendJSONString(buf, line)
		buf = append(buf, `,"timestamp":"`...)
		buf = ts.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, "\"}\n"...)
		n, err := w.Write(buf)
		if err != nil {
			return lines, fmt.Errorf("write mixed log: %w", err)
		}
		written += int64(n)
		lines++
	}
	if err := w.Flush(); err != nil {
		return lines, fmt.Errorf("write mixed log: %w", err)
	}
	return lines, f.Close()
}

// noiseLine is one line of ordinary logging in the style of the service's
// language and framework.
func noiseLine(s service, rng *rand.Rand, ts time.Time) string {
	id := rng.IntN(1 << 20)
	switch rng.IntN(6) {
	case 0:
		return fmt.Sprintf(`10.0.%d.%d - - [20/Nov/2026:10:42:01 +0000] "GET /api/%s/%d HTTP/1.1" 200 %d "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
			id%250, id%200, s.name, id, 200+id%4000)
	case 1:
		return fmt.Sprintf(`{"time":%q,"level":"INFO","msg":"request served","service":%q,"path":"/api/%s/%d","status":200,"duration_ms":%d,"trace_id":"%032x"}`,
			ts.Format(time.RFC3339Nano), s.name, s.name, id, id%300, id)
	case 2:
		return fmt.Sprintf(`time=%s level=WARN msg="slow query" table=orders rows=%d ms=%d`, ts.Format(time.RFC3339), id%1000, 500+id%900)
	case 3:
		return fmt.Sprintf("ERROR: upstream %s returned 503 for request %d, retrying", s.name, id)
	case 4:
		switch s.lang {
		case "java":
			return fmt.Sprintf("2026-11-20 10:42:01.123  INFO 1 --- [nio-8080-exec-%d] c.a.%s.Controller : handled order %d in %d ms", id%20, s.name, id, id%90)
		case "python":
			return fmt.Sprintf(`INFO:     10.0.0.%d:0 - "GET /%s?q=%d HTTP/1.1" 200 OK`, id%250, s.name, id)
		case "node":
			return fmt.Sprintf("[%s] info: queued message %d for user %d", s.name, id, id%5000)
		}
		return fmt.Sprintf("%s INFO cache refresh done entries=%d", ts.Format("2006/01/02 15:04:05"), id%10000)
	default:
		return fmt.Sprintf("level=info ts=%s caller=worker.go:%d msg=\"processed batch\" size=%d", ts.Format(time.RFC3339), 10+id%90, id%512)
	}
}

// crashLines prints crash template k of service s, with the parts that vary
// between occurrences of one incident (values in messages, goroutine ids,
// addresses) drawn at random.
func crashLines(s service, k int, rng *rand.Rand) []string {
	v := rng.IntN(1000)
	switch s.lang {
	case "go":
		return goCrash(s.name, k, v)
	case "java":
		return javaCrash(s.name, k, v)
	case "python":
		return pythonCrash(s.name, k, v)
	default:
		return nodeCrash(s.name, k, v)
	}
}

func goCrash(svc string, k, v int) []string {
	msgs := []string{
		fmt.Sprintf("panic: runtime error: index out of range [%d] with length %d", v%9+3, v%3),
		"panic: runtime error: invalid memory address or nil pointer dereference",
		"panic: assignment to entry in nil map",
		fmt.Sprintf("panic: order %d: inconsistent state", v),
		fmt.Sprintf("panic: runtime error: slice bounds out of range [:%d] with capacity %d", v%50+10, v%10),
	}
	lines := []string{msgs[k]}
	if k == 1 {
		lines = append(lines, "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x8a1f4e]")
	}
	fn := fmt.Sprintf("Handler%d", k)
	return append(lines, "", fmt.Sprintf("goroutine %d [running]:", 100+v),
		fmt.Sprintf("github.com/acme/shop/%s.%s(0xc000%06x, 0x%x)", svc, fn, v, v),
		fmt.Sprintf("\t/app/%s/handlers.go:%d +0x%x", svc, 10+k*10+2, 0x2e+v%64),
		fmt.Sprintf("github.com/acme/shop/%s.(*Server).route(0xc0001a2000, {0xb3c1e8, 0xc0002a4000})", svc),
		fmt.Sprintf("\t/app/%s/server.go:%d +0x1b8", svc, 20+k),
		"net/http.HandlerFunc.ServeHTTP(0xc000190010?, {0xb3c1e8?, 0xc0002a4000?}, 0x0?)",
		"\t/usr/local/go/src/net/http/server.go:2220 +0x29",
		"net/http.(*conn).serve(0xc0001b4000, {0xb3c220, 0xc0000b4050})",
		"\t/usr/local/go/src/net/http/server.go:2092 +0x5f4",
		"created by net/http.(*Server).Serve in goroutine 1",
		"\t/usr/local/go/src/net/http/server.go:3360 +0x485",
		"exit status 2")
}

func javaCrash(svc string, k, v int) []string {
	types := []string{"java.lang.IllegalStateException", "java.lang.NullPointerException",
		"java.lang.ArrayIndexOutOfBoundsException", "java.lang.NumberFormatException", "java.util.NoSuchElementException"}
	cls := strings.ToUpper(svc[:1]) + svc[1:] + "Service"
	return []string{
		fmt.Sprintf("2026-11-20 10:42:01.123 ERROR 1 --- [nio-8080-exec-%d] c.a.%s.Controller : request failed", v%20, svc),
		fmt.Sprintf("%s: order %d failed", types[k], v),
		fmt.Sprintf("\tat com.acme.%s.%s.step%d(%s.java:%d)", svc, cls, k, cls, 10+k*10+2),
		fmt.Sprintf("\tat com.acme.%s.Controller.post(Controller.java:%d)", svc, 20+k),
		"\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)",
		"\tat jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
		"\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)",
		"\tat java.base/java.lang.Thread.run(Thread.java:833)",
		fmt.Sprintf("Caused by: java.io.IOException: connection reset after %d bytes", v),
		fmt.Sprintf("\tat com.acme.%s.Client.read(Client.java:%d)", svc, 30+k),
		"\t... 6 more",
	}
}

func pythonCrash(svc string, k, v int) []string {
	last := []string{fmt.Sprintf("KeyError: 'sku-%d'", v), "TypeError: 'NoneType' object is not subscriptable",
		fmt.Sprintf("ZeroDivisionError: division by zero (batch %d)", v), fmt.Sprintf("ValueError: invalid literal for int() with base 10: 'x%d'", v),
		"AttributeError: 'dict' object has no attribute 'items_'"}
	return []string{
		"Traceback (most recent call last):",
		fmt.Sprintf(`  File "/srv/app/%s/views.py", line %d, in dispatch`, svc, 20+k),
		"    return handler(request)",
		fmt.Sprintf(`  File "/srv/app/%s/handlers.py", line %d, in handle_%d`, svc, 10+k*10+2, k),
		"    total = compute(request.payload)",
		`  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads`,
		"    return _default_decoder.decode(s)",
		last[k],
	}
}

func nodeCrash(svc string, k, v int) []string {
	msgs := []string{"TypeError: Cannot read properties of undefined (reading 'email')",
		fmt.Sprintf("RangeError: Invalid array length %d", v), "ReferenceError: userId is not defined",
		fmt.Sprintf("Error: queue %d is closed", v), "TypeError: cb is not a function"}
	return []string{
		msgs[k],
		fmt.Sprintf("    at handle%d (/usr/src/app/src/%s.js:%d:18)", k, svc, 10+k*10+2),
		fmt.Sprintf("    at Worker.run (/usr/src/app/src/worker.js:%d:5)", 20+k),
		"    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
		"    at async Promise.all (index 0)",
	}
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}

// workspaceFiles are the source files the crash templates point at, so the
// pipeline maps frames into a real workspace as it does for users.
func workspaceFiles() map[string]string {
	body := func(lang string) string {
		var b strings.Builder
		for i := 1; i <= 80; i++ {
			switch lang {
			case "go":
				b.WriteString("\tx := compute(" + strconv.Itoa(i) + ")\n")
			case "python":
				b.WriteString("    x = compute(" + strconv.Itoa(i) + ")\n")
			default:
				b.WriteString("    x = compute(" + strconv.Itoa(i) + ");\n")
			}
		}
		return b.String()
	}
	files := map[string]string{"go.mod": "module github.com/acme/shop\n\ngo 1.22\n"}
	for _, s := range services {
		switch s.lang {
		case "go":
			files[s.name+"/handlers.go"] = "package " + s.name + "\n" + body("go")
			files[s.name+"/server.go"] = "package " + s.name + "\n" + body("go")
		case "java":
			cls := strings.ToUpper(s.name[:1]) + s.name[1:] + "Service"
			dir := "services/" + s.name + "/src/main/java/com/acme/" + s.name + "/"
			files[dir+cls+".java"] = "package com.acme." + s.name + ";\n" + body("java")
			files[dir+"Controller.java"] = "package com.acme." + s.name + ";\n" + body("java")
			files[dir+"Client.java"] = "package com.acme." + s.name + ";\n" + body("java")
		case "python":
			files["py/"+s.name+"/views.py"] = body("python")
			files["py/"+s.name+"/handlers.py"] = body("python")
		case "node":
			files["web/src/"+s.name+".js"] = body("node")
			files["web/src/worker.js"] = body("node")
		}
	}
	return files
}
