package correlator

import (
	"context"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/incident"
)

// The worker feeds pushed entries, in arrival order, into one small
// reassembler per stream whose only job is to say when the entries held so
// far can no longer be part of an open trace. Those entries are "released"
// to an analysis round that runs exactly the poll's path (the same
// Analyzer, occurrence keys and Ingest), so a pushed crash becomes the
// same incident a poll would make of it. Entries are marked processed in
// the store only after their round was ingested; a crash in between
// replays them, and the occurrence keys make the replay idempotent.
//
// A stream's entries are released when its reassembler closes a trace on a
// later line, when no entry of the stream arrived for FlushAfter, or when
// it holds MaxStreamEntries (a trace then open is cut there).

// pushStream is the state of one stream between releases.
type pushStream struct {
	reasm   *reassemble.Reassembler
	held    []queued
	last    time.Time // wall clock of the last arrival
	emitted bool
}

// worker is owned by the goroutine running pusher.run.
type worker struct {
	p        *pusher
	streams  map[string]*pushStream
	released []queued
	failing  bool
}

// tick is how often quiet streams are checked.
func (p *pusher) tick() time.Duration {
	return max(10*time.Millisecond, p.cfg.FlushAfter/4)
}

// run replays the store's unprocessed entries, then processes pushes until
// ctx ends. Pushes are answered only once the replay is queued, so replayed
// entries precede new ones in every stream.
func (p *pusher) run(ctx context.Context) {
	w := &worker{p: p, streams: map[string]*pushStream{}}
	if p.log != nil {
		w.replay(ctx)
	}
	close(p.ready)
	t := time.NewTicker(p.tick())
	defer t.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
		case <-prune.C:
			if _, err := p.log.PrunePushed(ctx, p.c.cfg.Now().Add(-p.cfg.Retention)); err != nil && ctx.Err() == nil {
				p.c.cfg.Logf("push: %v", err)
			}
		}
		w.step(ctx)
	}
}

// replay queues what an earlier process accepted and did not process.
func (w *worker) replay(ctx context.Context) {
	var after int64
	for ctx.Err() == nil {
		page, err := w.p.log.PendingPushed(ctx, after, 1000)
		if err != nil {
			w.p.c.cfg.Logf("push: replay: %v", err)
			return
		}
		if len(page) == 0 {
			return
		}
		var size int64
		for _, e := range page {
			size += int64(len(e.Line))
		}
		w.p.reserve(len(page), size, true)
		w.p.enqueue(page)
		after = page[len(page)-1].Seq
		w.step(ctx) // keep memory to a page plus what streams hold
	}
}

// step feeds what was queued, releases quiet streams and analyses what was
// released.
func (w *worker) step(ctx context.Context) {
	p := w.p
	p.mu.Lock()
	batch := p.queue
	p.queue = nil
	p.mu.Unlock()
	now := time.Now()
	for _, q := range batch {
		w.feed(q, now)
	}
	for key, st := range w.streams {
		if now.Sub(st.last) >= p.cfg.FlushAfter {
			w.flush(key, st)
		}
	}
	if len(w.released) == 0 {
		return
	}
	evs := make([]incident.Event, len(w.released))
	seqs := make([]int64, len(w.released))
	var size int64
	for i, q := range w.released {
		evs[i], seqs[i] = q.ev, q.seq
		size += int64(len(q.ev.Line))
	}
	err := p.c.analysePushed(ctx, evs)
	if err == nil {
		err = p.log.MarkPushed(ctx, seqs)
	}
	if err != nil {
		// Kept for the next step; a crash before then replays them.
		if !w.failing && ctx.Err() == nil {
			p.c.cfg.Logf("push: %v (retrying)", err)
		}
		w.failing = true
		return
	}
	w.failing = false
	w.released = w.released[:0]
	p.unreserve(len(seqs), size)
}

func (w *worker) feed(q queued, now time.Time) {
	st := w.streams[q.stream]
	if st == nil {
		st = &pushStream{}
		st.reasm = reassemble.New(func(reassemble.Occurrence) { st.emitted = true })
		w.streams[q.stream] = st
	}
	st.emitted = false
	st.reasm.Add(q.ev)
	// A trace closed by this line (not one read from this line alone, as a
	// structured logger writes it) ended before it: what came before is
	// complete.
	if st.emitted && !strings.HasPrefix(strings.TrimSpace(q.ev.Line), "{") {
		w.released = append(w.released, st.held...)
		st.held = st.held[:0]
	}
	st.held = append(st.held, q)
	st.last = now
	if len(st.held) >= w.p.cfg.MaxStreamEntries {
		w.flush(q.stream, st)
	}
}

// flush releases everything a stream holds and forgets the stream.
func (w *worker) flush(key string, st *pushStream) {
	st.reasm.Flush()
	w.released = append(w.released, st.held...)
	delete(w.streams, key)
}

// analysePushed runs one analysis round over released pushed entries,
// exactly as a poll analyses a window, and ingests the result.
func (c *Correlator) analysePushed(ctx context.Context, evs []incident.Event) error {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	var deploys []incident.Deploy
	if c.cfg.Deploys != nil {
		ds, err := c.cfg.Deploys(ctx)
		if err != nil {
			c.cfg.Logf("push: read deploys: %v", err)
		}
		deploys = ds
	}
	analyzers, err := c.analyzers(deploys)
	if err != nil {
		return err
	}
	occ := newOccurrences()
	for _, e := range evs {
		if a := analyzers[c.route(e.Labels[incident.LabelService])]; a != nil {
			a.Add(e)
			occ.add(e)
		}
	}
	occ.flush()
	var res PollResult
	res.Entries = len(evs)
	err = c.ingest(ctx, analyzers, occ, &res)
	c.afterIngest(ctx, res)
	return err
}
