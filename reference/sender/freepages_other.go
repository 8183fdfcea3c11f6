//go:build !linux

package sender

// releaseFreePages gives nothing back where the outbox's free pages are
// not dropped from its mapping (freepages_linux.go says why Linux does).
func (t *txb) releaseFreePages(keep int) int { return 0 }
