package sender

import (
	"encoding/binary"
	"os"
	"syscall"
)

// Free pages of the outbox, given back: bbolt maps its file and reads
// every page through that mapping, so each page it has read stays in the
// sender's RSS for as long as the file is open, free or not. A burst
// (an outage's backlog delivered at once) raises the file's high-water
// mark; once retention removes the backlog its pages are free, bbolt
// keeps them for reuse, and they stayed resident: the sender's RSS kept
// the burst's step for good (a 10-minute soak: 18.2 -> 22 MB of the
// outbox resident, most of the sender's growth after the first minute).
//
// releaseFreePages drops from the mapping the pages bbolt's freelist
// holds that are resident, and returns how many. The mapping is shared
// and read-only (bbolt writes with pwrite), so dropping a page loses
// nothing: the file and the page cache still hold it, and a later read
// (a page reused and read again) faults it back in from the cache. It
// runs inside a write transaction, where the freelist is the writer's
// alone; pages freed but still pending for an open reader are safe to
// drop for the same reason.
//
// The lowest keep free pages that are resident stay: bbolt's array
// freelist hands out the lowest free page first, so they are the ones
// the next commits write and read again (dropping them only costs
// faults back in a second later).
func (t *txb) releaseFreePages(keep int) int {
	db := t.tx.DB()
	info := db.Info()
	size := t.tx.Size()
	ps := info.PageSize
	if ps <= 0 || ps%os.Getpagesize() != 0 || size <= 2*int64(ps) {
		return 0
	}
	n := int(size / int64(ps))
	// Which pages are resident: a page not mapped in needs no dropping,
	// and reading its header to ask the freelist would fault it in.
	resident := residentPages(info.Data, size, ps)
	if resident == nil {
		return 0
	}
	released := 0
	// Runs of pages to drop: a free resident page starts or extends one,
	// a page not resident may sit inside one (dropping it is a no-op), a
	// page in use ends it.
	start, inRun := -1, 0
	flush := func(to int) {
		if inRun > 0 {
			addr := info.Data + uintptr(start*ps)
			if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr((to-start)*ps), syscall.MADV_DONTNEED); e == 0 {
				released += inRun
			}
		}
		start, inRun = -1, 0
	}
	for id := 2; id < n; id++ { // 0 and 1 are the meta pages
		if !resident[id] {
			continue
		}
		if p, err := t.tx.Page(id); err == nil && p != nil && p.Type == "free" {
			if keep > 0 {
				keep--
				flush(id)
				continue
			}
			if start < 0 {
				start = id
			}
			inRun++
			continue
		}
		flush(id)
	}
	flush(n)
	return released
}

// residentPages says which of the first size bytes' pages (of pageSize)
// of the mapping at addr are in this process's memory, or nil if it
// cannot tell. /proc/self/pagemap has a word per page whose top bit says
// so; mincore would not do: for a file it answers whether the page cache
// holds a page, mapped here or not.
func residentPages(addr uintptr, size int64, pageSize int) []bool {
	sys := os.Getpagesize()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil
	}
	defer f.Close()
	words := make([]byte, 8*((size+int64(sys)-1)/int64(sys)))
	if _, err := f.ReadAt(words, int64(addr/uintptr(sys))*8); err != nil {
		return nil
	}
	per := pageSize / sys
	in := make([]bool, size/int64(pageSize))
	for id := range in {
		for k := id * per; k < (id+1)*per; k++ {
			if binary.NativeEndian.Uint64(words[8*k:])>>63 != 0 {
				in[id] = true
				break
			}
		}
	}
	return in
}
