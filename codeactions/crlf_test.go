package codeactions

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/faultline-dev/faultline/incident"
)

// TestProposeKeepsCRLF: a fix to a file written with CRLF line endings
// writes its new lines with CRLF too; a file with LF (or mixed) endings is
// left as the rule wrote it.
func TestProposeKeepsCRLF(t *testing.T) {
	for _, c := range []struct {
		name, lang, errType, msg, path, src string
		line                                int
	}{
		{"python guard", "python", "ZeroDivisionError", "ZeroDivisionError: division by zero", "cap.py",
			"def utilisation(dock, hours):\n    capacity = DOCKS.get(dock, 0) * 8\n    return hours / capacity\n", 3},
		{"go guard", "go", "runtime error: integer divide by zero", "panic: runtime error: integer divide by zero", "trips.go",
			"package trips\n\nfunc avg(total int, stops []int) int {\n\treturn total / len(stops)\n}\n", 4},
		{"java null check", "java", "java.lang.NullPointerException",
			`Cannot invoke "String.trim()" because the return value of "com.acme.Site.getRegion()" is null`, "Regions.java",
			"package com.acme;\n\nfinal class Regions {\n    static String code(Site site) {\n        String c = site.getRegion().trim();\n        return c;\n    }\n}\n", 5},
	} {
		for _, crlf := range []bool{false, true} {
			src := c.src
			if crlf {
				src = strings.ReplaceAll(src, "\n", "\r\n")
			}
			in := Input{
				Incident: incident.Incident{ID: "x", Language: c.lang, ErrorType: c.errType, Message: c.msg,
					Location: &incident.Location{File: c.path, Line: c.line}, RootCause: &incident.RootCause{Fixable: true}},
				Path: c.path, Line: c.line, Content: []byte(src),
				Dir: fstest.MapFS{c.path: &fstest.MapFile{Data: []byte(src)}},
			}
			chs := Propose(Fixers, in)
			if len(chs) == 0 {
				t.Errorf("%s (crlf %v): no fix", c.name, crlf)
				continue
			}
			got := chs[0].Content
			lf := bytes.Count(got, []byte("\n"))
			crlfs := bytes.Count(got, []byte("\r\n"))
			if crlf && crlfs != lf {
				t.Errorf("%s: %d of %d lines end in CRLF after the fix:\n%q", c.name, crlfs, lf, got)
			}
			if !crlf && crlfs != 0 {
				t.Errorf("%s: an LF file got CRLF lines:\n%q", c.name, got)
			}
		}
	}
	// A file of mixed endings is not converted.
	mixed := []byte("a\r\nb\nc\r\n")
	if got := keepCRLF(mixed, []byte("a\r\nb\nx\nc\r\n")); string(got) != "a\r\nb\nx\nc\r\n" {
		t.Errorf("keepCRLF of a mixed file = %q", got)
	}
}
