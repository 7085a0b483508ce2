// Package histgen writes git histories for benchmarks: long, linear, with
// one line whose author is known, made with `git fast-import` so that
// thousands of commits take a second.
package histgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
)

// File is the path of the file whose line is blamed, and Line's text.
const (
	File = "svc/handler.go"
	Text = "\treturn items[i]"
)

// Deep makes, in dir (created empty by the caller), a linear history of n
// commits over 400 other files, each commit changing three of them and
// every tenth commit File, whose line Text commit n/2 wrote (lines come
// and go above it over time). It returns that line's number at HEAD and
// the summary of the commit that wrote it. It needs the git CLI.
func Deep(dir string, n int) (line int, author string, err error) {
	if _, err := exec.LookPath("git"); err != nil {
		return 0, "", fmt.Errorf("git CLI not installed: %w", err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	handler := func(c int) string {
		var s strings.Builder
		s.WriteString("package svc\n\n")
		for i := range c % 40 {
			fmt.Fprintf(&s, "// note %d\n", i)
		}
		for k := range 60 {
			fmt.Fprintf(&s, "func helper%d(x int) int {\n\treturn x + %d\n}\n\n", k, k+c%7)
		}
		s.WriteString("func Handle(items []int, i int) int {\n")
		if c >= n/2 {
			s.WriteString(Text + "\n")
		} else {
			s.WriteString("\tif i < len(items) {\n\t" + Text + "\n\t}\n\treturn 0\n")
		}
		s.WriteString("}\n")
		return s.String()
	}
	var buf bytes.Buffer
	for c := range n {
		msg := fmt.Sprintf("change %d", c)
		fmt.Fprintf(&buf, "commit refs/heads/main\ncommitter D <d@example.com> %d +0000\ndata %d\n%s\n", 1700000000+c*600, len(msg), msg)
		for range 3 {
			data := fmt.Sprintf("package p\n// rev %d\n", c)
			fmt.Fprintf(&buf, "M 100644 inline pkg%d/f%d.go\ndata %d\n%s\n", rng.IntN(20), rng.IntN(400), len(data), data)
		}
		if c%10 == 0 || c == n/2 {
			data := handler(c)
			fmt.Fprintf(&buf, "M 100644 inline %s\ndata %d\n%s\n", File, len(data), data)
		}
		buf.WriteString("\n")
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"fast-import", "--quiet"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, "", fmt.Errorf("git %s: %w: %s", args[0], err, out)
		}
	}
	head := handler((n - 1) / 10 * 10) // the last commit that changed File
	line = strings.Count(head[:strings.Index(head, Text)], "\n") + 1
	return line, fmt.Sprintf("change %d", n/2), nil
}
