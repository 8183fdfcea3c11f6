package receiver

// receiptRing holds the latest receipts in memory, for Receipts; receipt
// seq lives at slot seq % len.
//
// Its memory is all allocated and written at start, so it is resident
// from the first webhook at the size it keeps: a fresh allocation this
// large comes zeroed from the OS and is resident only where written, and
// a Receipt's webhook-id is a string of its own. Without both, the
// receiver's memory crept up until the ring wrapped (two minutes at 500
// webhooks/s) and looked like a leak: the ring kept each id alive for
// the whole ring, long after the dedupe window had let it go. An id of up
// to ringInlineID bytes (every provider's we know: msg_ + 26 or 27
// characters, evt_ + 24, a 36-character UUID) is copied into its slot;
// a longer one keeps its string.
type receiptRing []ringSlot

// ringInlineID is the longest webhook-id a slot holds inline.
const ringInlineID = 40

type ringSlot struct {
	rc Receipt // rc.ID is "" when the id is inline
	n  uint8   // length of the inline id
	id [ringInlineID]byte
}

func newReceiptRing(n int) receiptRing {
	r := make(receiptRing, n)
	for i := range r {
		r[i].rc.Seq = 0 // write every page once: see receiptRing
	}
	return r
}

func (r receiptRing) slot(seq uint64) *ringSlot { return &r[seq%uint64(len(r))] }

// put stores rc at its seq's slot.
func (r receiptRing) put(rc *Receipt) {
	s := r.slot(rc.Seq)
	s.rc = *rc
	s.n = 0
	if len(rc.ID) <= ringInlineID {
		s.n = uint8(copy(s.id[:], rc.ID))
		s.rc.ID = ""
	}
}

// get returns the receipt at seq's slot (whatever seq it holds).
func (r receiptRing) get(seq uint64) Receipt {
	s := r.slot(seq)
	rc := s.rc
	if s.n > 0 {
		rc.ID = string(s.id[:s.n])
	}
	return rc
}

// holds says whether seq's slot holds that receipt.
func (r receiptRing) holds(seq uint64) bool { return r.slot(seq).rc.Seq == seq }
