package lokitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

type streamJSON struct {
	Stream map[string]string `json:"stream"`
	Values [][]any           `json:"values"`
}

func (s *Server) selectEntries(q logQuery, start, end time.Time, forward bool) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for _, e := range s.entries {
		if !e.Time.Before(start) && e.Time.Before(end) && q.matches(e.Labels, e.Line) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time) == forward
		}
		if a.key != b.key {
			return a.key < b.key
		}
		return a.seq < b.seq
	})
	return out
}

// groupStreams groups entries by stream in order of first appearance,
// keeping each stream's entries in the given order, as Loki answers. Unless
// categorize, an entry's structured metadata counts as labels of its
// stream, as Loki 3 answers a client that did not ask for categorized
// labels.
func groupStreams(entries []Entry, categorize bool) []streamJSON {
	index := map[string]int{}
	out := []streamJSON{} // Loki answers "result":[] when nothing matches
	for _, e := range entries {
		key, labels := e.key, e.Labels
		if !categorize && len(e.Metadata) > 0 {
			labels = make(map[string]string, len(e.Labels)+len(e.Metadata))
			for k, v := range e.Labels {
				labels[k] = v
			}
			for k, v := range e.Metadata {
				labels[k] = v
			}
			key = labelsKey(labels)
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, streamJSON{Stream: labels})
		}
		v := []any{strconv.FormatInt(e.Time.UnixNano(), 10), e.Line}
		if categorize {
			cat := map[string]any{}
			if len(e.Metadata) > 0 {
				cat["structuredMetadata"] = e.Metadata
			}
			v = append(v, cat)
		}
		out[i].Values = append(out[i].Values, v)
	}
	return out
}

// categorized reports whether a request asks for labels by category.
func categorized(r *http.Request) bool {
	for _, h := range r.Header.Values("X-Loki-Response-Encoding-Flags") {
		for _, f := range strings.Split(h, ",") {
			if strings.TrimSpace(f) == "categorize-labels" {
				return true
			}
		}
	}
	return false
}

func (s *Server) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *Server) handleQueryRange(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	fault, faulty := s.nextFault()
	if faulty && fault.Hang {
		<-r.Context().Done()
		return
	}
	if faulty && !fault.Truncate {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		http.Error(w, fault.Body, fault.Status)
		return
	}
	p := r.URL.Query()
	q, err := parseQuery(p.Get("query"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	end, err1 := parseTime(p.Get("end"), now)
	start, err2 := parseTime(p.Get("start"), end.Add(-time.Hour))
	limit := 100
	if l := p.Get("limit"); l != "" {
		limit, err = strconv.Atoi(l)
	}
	if err1 != nil || err2 != nil || err != nil || limit <= 0 {
		http.Error(w, "invalid start, end or limit", http.StatusBadRequest)
		return
	}
	if s.MaxEntriesLimit > 0 && limit > s.MaxEntriesLimit {
		http.Error(w, fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, s.MaxEntriesLimit), http.StatusBadRequest)
		return
	}
	dir := p.Get("direction")
	if dir != "" && dir != "forward" && dir != "backward" {
		http.Error(w, "invalid direction", http.StatusBadRequest)
		return
	}
	entries := s.selectEntries(q, start, end, dir == "forward")
	if len(entries) > limit {
		entries = entries[:limit]
	}
	categorize := categorized(r)
	data := map[string]any{
		"resultType": "streams",
		"result":     groupStreams(entries, categorize),
		"stats":      map[string]any{"summary": map[string]any{"totalEntriesReturned": len(entries)}},
	}
	if categorize {
		data["encodingFlags"] = []string{"categorize-labels"}
	}
	body, _ := json.Marshal(map[string]any{"status": "success", "data": data})
	if faulty && fault.Truncate {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// handleTail streams entries from start on, then new pushes as they come,
// in messages shaped like Loki's: {"streams":[...],"dropped_entries":null}.
func (s *Server) handleTail(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	if s.TailDisabled {
		http.NotFound(w, r)
		return
	}
	q, err := parseQuery(r.URL.Query().Get("query"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	from, err := parseTime(r.URL.Query().Get("start"), time.Now())
	if err != nil {
		http.Error(w, "invalid start", http.StatusBadRequest)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	sent := map[int]bool{}
	for {
		s.mu.Lock()
		wake := s.notify
		s.mu.Unlock()
		var fresh []Entry
		for _, e := range s.selectEntries(q, from, time.Unix(1<<40, 0), true) {
			if !sent[e.seq] {
				sent[e.seq] = true
				fresh = append(fresh, e)
			}
		}
		if len(fresh) > 0 {
			msg, _ := json.Marshal(map[string]any{"streams": groupStreams(fresh, categorized(r)), "dropped_entries": nil})
			if conn.Write(ctx, websocket.MessageText, msg) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
	}
}
