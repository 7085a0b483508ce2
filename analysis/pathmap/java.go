package pathmap

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// javaFileFromFunction names the source file of a JVM frame printed as
// "(Unknown Source)" or "(Native Method)": the outer class of the method
// plus .java, or .kt when only a Kotlin file of that name exists.
func javaFileFromFunction(f incident.Frame) string {
	fn := f.Function
	if i := strings.IndexByte(fn, '('); i >= 0 {
		fn = fn[:i]
	}
	i := strings.LastIndexByte(fn, '.')
	if i <= 0 {
		return ""
	}
	cls := lastDot(fn[:i])
	if j := strings.IndexByte(cls, '$'); j >= 0 {
		cls = cls[:j]
	}
	if cls == "" {
		return ""
	}
	return cls + ".java"
}

var javaPackageDecl = regexp.MustCompile(`(?m)^\s*package\s+([\w.]+)`)

// declaredPackage returns the package statement of a Java/Kotlin file,
// read at most once. Kotlin and some Java builds do not require the folder
// to match the package, so the declaration is the authority.
func (m *Mapper) declaredPackage(file string) string {
	m.mu.Lock()
	pkg, ok := m.javaPkg[file]
	m.mu.Unlock()
	if ok {
		return pkg
	}
	if sub := javaPackageDecl.FindSubmatch(m.read(file)); sub != nil {
		pkg = string(sub[1])
	}
	m.mu.Lock()
	m.javaPkg[file] = pkg
	m.mu.Unlock()
	return pkg
}

// byJavaPackage finds the file of a JVM frame from its package and file
// name: com.acme.shop + Cart.java is com/acme/shop/Cart.java under any
// source root, or any Cart.java declaring package com.acme.shop. A file of
// that name in another package is never taken: a JVM frame with a package
// does not fall back to matching the file name alone.
func (m *Mapper) byJavaPackage(p, svcDir string, f incident.Frame) Result {
	base := path.Base(p)
	names := []string{base}
	if strings.HasSuffix(base, ".java") && !strings.Contains(f.Path, ".") {
		names = append(names, strings.TrimSuffix(base, ".java")+".kt")
	}
	var contenders, losers []Candidate
	for _, name := range names {
		want := strings.ReplaceAll(f.Package, ".", "/") + "/" + name
		ws := segments(want)
		for _, i := range m.idx.byBase[name] {
			file := m.idx.files[i]
			c := Candidate{File: file, SuffixLen: suffixLen(ws, segments(file))}
			switch {
			case c.SuffixLen == len(ws):
				c.Why = "its folder matches package " + f.Package
				contenders = append(contenders, c)
			case m.declaredPackage(file) == f.Package:
				c.Why = "it declares package " + f.Package
				contenders = append(contenders, c)
			default:
				c.Why = fmt.Sprintf("lost: it is in package %q, the frame is in %s", m.declaredPackage(file), f.Package)
				losers = append(losers, c)
			}
		}
	}
	if len(contenders) == 0 {
		return Result{Candidates: losers,
			Reason: fmt.Sprintf("No workspace file %s is in package %s.", base, f.Package)}
	}
	r := m.settle("java", svcDir, f, contenders, losers, RuleJavaPackage, "package "+f.Package)
	if r.File != "" {
		if root := strings.TrimSuffix(r.File, strings.ReplaceAll(f.Package, ".", "/")+"/"+path.Base(r.File)); root != r.File {
			r.Reason = fmt.Sprintf("%s is class %s.%s under source root %s.", r.File, f.Package, strings.TrimSuffix(path.Base(r.File), path.Ext(r.File)), dirOrRoot(root))
			if r.Rule != RuleJavaPackage {
				r.Reason = r.Reason[:len(r.Reason)-1] + ", chosen by " + r.Rule + "."
			}
		}
	}
	return r
}
