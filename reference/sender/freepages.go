package sender

// The outbox's free pages, dropped from memory (releaseFreePages, in
// freepages_linux.go) in the writer's transactions: after a sweep that
// removed events, every releaseBatches batches of a long sweep, and
// every releaseEvery sweeps otherwise.

// releaseBatches is how many sweep batches apart a long sweep (a
// backlog's removal) releases the pages the batches before it freed.
// Each release reads the outbox's page map (8 bytes per 4 KB page) and
// the header of each resident page, inside the writer's transaction
// that ingests wait behind: once per batch that cost grew with the
// file's size times the number of batches.
const releaseBatches = 8

// releaseEvery is how many sweeps apart the outbox's free pages are
// dropped from memory (releaseFreePages) when no sweep removed anything
// meanwhile; a sweep that removed events releases their pages at once,
// so a burst's pages leave memory as retention removes them, not all
// together at the end. Each release is a write transaction of its own.
const releaseEvery = 10

// releaseKeepCommits is how many commits' worth of page allocations
// releaseFree keeps resident (at the lowest free pages, which bbolt's
// array freelist hands out first): the pages those commits will write
// and read again at once. releaseKeepMax caps it (1 MB of 4 KB pages):
// a backlog's removal commits large batches, and keeping what they
// allocate kept the backlog's pages too (a soak's outbox 18.3 -> 22.5 MB
// for the 15 s of its removal).
const (
	releaseKeepCommits = 8
	releaseKeepMax     = 256
)

// releaseFree drops the outbox's free pages from memory (releaseIn) in a
// write transaction of its own, unless no page was written since its
// last one: every commit allocates pages (the counters record at least,
// the release's own included), so "none since" is counted from the end
// of that transaction. An idle sender then neither commits nor syncs;
// what the last commit before the idle spell freed stays resident, less
// than the releaseKeepCommits commits' pages a release keeps anyway.
func (o *outbox) releaseFree() error {
	if o.allocatedPages() == o.release.idle.Load() {
		return nil
	}
	err := o.do(func(t *txb, c *counters) error {
		o.releaseIn(t, c)
		return nil
	})
	o.release.idle.Store(o.allocatedPages())
	return err
}

// releaseIn drops the outbox's free pages from memory
// (releaseFreePages), keeping the lowest free pages that the next
// releaseKeepCommits commits will take (bbolt's pages allocated per
// commit since the last release), releaseKeepMax at most.
func (o *outbox) releaseIn(t *txb, c *counters) {
	allocated := o.allocatedPages()
	keep := 0
	if commits := c.Commits - o.release.commits; commits > 0 {
		keep = int(min((allocated-o.release.allocated)*releaseKeepCommits/int64(commits), releaseKeepMax))
	}
	o.metrics.pagesReleased(t.releaseFreePages(keep))
	o.release.allocated, o.release.commits = allocated, c.Commits
}

// allocatedPages is bbolt's count of pages allocated since the open.
func (o *outbox) allocatedPages() int64 {
	st := o.db.Stats()
	return st.TxStats.GetPageCount()
}
