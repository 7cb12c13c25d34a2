package derived

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Commits is what a read model's write transactions have cost: with
// random keys each change dirties a page of its own, and a commit writes
// every dirty page with a write of its own, so these counts, not the
// bytes, are what a fold pays for its file (about a fifth of a burst's CPU
// for the cabinet and the register at a million persons).
type Commits struct {
	// Writes is the writes to the file: one per dirty page (or run of
	// pages holding one large node), and one of the meta page per commit.
	Writes int64
	// Pages is the pages the changed nodes took (the meta pages aside).
	Pages int64
	// Time is the time spent committing: laying the changed nodes out in
	// pages (bbolt's spill) and writing them.
	Time time.Duration
}

// Sub is the cost between an earlier reading and c.
func (c Commits) Sub(earlier Commits) Commits {
	return Commits{Writes: c.Writes - earlier.Writes, Pages: c.Pages - earlier.Pages, Time: c.Time - earlier.Time}
}

func (c Commits) add(o Commits) Commits {
	return Commits{Writes: c.Writes + o.Writes, Pages: c.Pages + o.Pages, Time: c.Time + o.Time}
}

func commitsOf(db *bolt.DB) Commits {
	st := db.Stats().TxStats
	return Commits{Writes: st.GetWrite(), Pages: st.GetPageCount(), Time: st.GetSpillTime() + st.GetWriteTime()}
}

// Commits is the cost of the commits of the handle's file since it was
// opened, with those of the files a rebuild replaced (and of the rebuild's
// own fold into the file that replaced them), so that it only grows.
func (h *Handle) Commits() Commits {
	h.counted.Lock()
	defer h.counted.Unlock()
	return h.replaced.add(commitsOf(h.db.Load()))
}
