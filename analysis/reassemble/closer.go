package reassemble

import "sync"

// Parsing a closed block (and what emit does with its trace: grouping)
// was a third of the work of the goroutine that feeds a Reassembler in a
// crash storm, the one step of reading a log that cannot be split over
// cores. Pipeline moves it to a goroutine of its own: blocks are parsed
// and emitted in the order they close, and Wait (which Flush and Stats
// call) returns once every closed block has been emitted.

// closerBatch is how many closed blocks are handed over at a time, so
// that a storm of short traces costs one handover per batch.
const closerBatch = 32

type closer struct {
	pending []*block
	work    chan []*block
	done    sync.WaitGroup
	// stats counts what the closer's goroutine parsed; it is added to the
	// Reassembler's in Wait.
	stats Stats
}

// Pipeline has the traces of closed blocks parsed and emitted on a
// goroutine of their own, in the order the blocks close: emit is then
// called on that goroutine, and what it writes may be read once Wait
// returns. Call Wait (or Flush) before the Reassembler is dropped, or the
// goroutine is left waiting for work.
func (r *Reassembler) Pipeline() {
	if r.closer == nil {
		r.closer = &closer{}
	}
}

// add queues a closed block.
func (c *closer) add(r *Reassembler, b *block) {
	c.pending = append(c.pending, b)
	if len(c.pending) >= closerBatch {
		c.send(r)
	}
}

// send hands the queued blocks to the goroutine, starting it if need be.
func (c *closer) send(r *Reassembler) {
	if len(c.pending) == 0 {
		return
	}
	if c.work == nil {
		c.work = make(chan []*block, 8)
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			for batch := range c.work {
				for _, b := range batch {
					r.emitBlock(b, &c.stats)
				}
			}
		}()
	}
	c.work <- c.pending
	c.pending = make([]*block, 0, closerBatch)
}

// Wait returns once every block closed so far has been parsed and emitted
// (at once when Pipeline was not called). The goroutine ends; the next
// closed block starts another.
func (r *Reassembler) Wait() {
	c := r.closer
	if c == nil {
		return
	}
	c.send(r)
	if c.work == nil {
		return
	}
	close(c.work)
	c.done.Wait()
	c.work = nil
	r.stats.Traces += c.stats.Traces
	r.stats.Frameless += c.stats.Frameless
	c.stats = Stats{}
}
