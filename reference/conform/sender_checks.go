package conform

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// grade works out one sender check from the attempts recorded (called
// with r.mu held, after the run).
func (r *senderRun) grade(id string) outcome {
	switch id {
	case "sign.headers":
		return r.gradeHeaders()
	case "sign.valid":
		return r.gradeValid()
	case "sign.fresh-per-attempt":
		return r.gradeFresh()
	case "id.unique":
		return r.gradeUnique()
	case "id.stable-across-retries":
		return r.gradeStableID()
	case "body.stable-across-retries":
		return r.gradeStableBody()
	case "retry.on-5xx":
		return r.gradeRetried(g5xx, "a 500")
	case "retry.on-timeout":
		return r.gradeRetried(gTimeout, "an unanswered attempt")
	case "retry.on-connection-reset":
		return r.gradeRetried(gReset, "a connection reset")
	case "success.no-retry":
		return r.gradeNoRetry()
	case "retry.backoff":
		return r.gradeBackoff()
	case "retry.jitter":
		return r.gradeJitter()
	case "timeout.bounded":
		return r.gradeTimeoutBounded()
	case "retry-after.429":
		return r.gradeRetryAfter(g429, "429")
	case "retry-after.503":
		return r.gradeRetryAfter(g503, "503")
	case "redirect.not-followed":
		return r.gradeRedirect()
	case "no-loss.outage":
		return r.gradeOutage()
	case "gone.410-stops":
		return r.gradeGone()
	case "throttle.endpoint-level":
		return r.gradeThrottle()
	}
	return skipped("not graded")
}

// webhooks are the attempts that reached the endpoint (not a followed
// redirect).
func (r *senderRun) webhooks() []hit {
	var out []hit
	for _, h := range r.hits {
		if !strings.HasPrefix(h.path, "/redirected") {
			out = append(out, h)
		}
	}
	return out
}

func (r *senderRun) gradeHeaders() outcome {
	hits := r.webhooks()
	if len(hits) == 0 {
		return broke("no attempt arrived: does the trigger make the sender deliver to {{.Endpoint}}?")
	}
	var bad []string
	for _, h := range hits {
		switch {
		case !h.hasID || !h.hasTS || !h.hasSig:
			bad = append(bad, fmt.Sprintf("%s: headers missing (id %v, timestamp %v, signature %v)", orNone(h.id), h.hasID, h.hasTS, h.hasSig))
		case !isUnixSeconds(h.timestamp):
			bad = append(bad, fmt.Sprintf("%s: webhook-timestamp %q is not integer seconds", h.id, h.timestamp))
		case !wellFormedSignatures(h.signature):
			bad = append(bad, fmt.Sprintf("%s: webhook-signature %q is not space-separated vN,base64 with a v1", h.id, h.signature))
		}
	}
	if len(bad) > 0 {
		return broke("%d of %d attempts: %s", len(bad), len(hits), firstFew(bad))
	}
	return held("all %d attempts carried webhook-id, an integer webhook-timestamp and v1 signatures", len(hits))
}

func orNone(id string) string {
	if id == "" {
		return "(no id)"
	}
	return id
}

func isUnixSeconds(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil && !strings.HasPrefix(s, "+")
}

// wellFormedSignatures: "v1,<base64> ..." with at least one v1 entry.
func wellFormedSignatures(s string) bool {
	v1 := false
	for _, part := range strings.Split(s, " ") {
		ver, sig, ok := strings.Cut(part, ",")
		if !ok || ver == "" || ver[0] != 'v' || sig == "" {
			return false
		}
		v1 = v1 || ver == "v1"
	}
	return v1
}

func firstFew(items []string) string {
	if len(items) > 3 {
		return strings.Join(items[:3], "; ") + fmt.Sprintf("; and %d more", len(items)-3)
	}
	return strings.Join(items, "; ")
}

func (r *senderRun) gradeValid() outcome {
	hits := r.webhooks()
	if len(hits) == 0 {
		return skipped("no attempt arrived (see sign.headers)")
	}
	var bad []string
	for _, h := range hits {
		hdr := http.Header{}
		hdr.Set(webhook.HeaderID, h.wireID)
		hdr.Set(webhook.HeaderTimestamp, h.timestamp)
		hdr.Set(webhook.HeaderSignature, h.signature)
		if err := r.verifier.Verify(hdr, []byte(h.body), h.at); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", orNone(h.id), err))
		}
	}
	if len(bad) > 0 {
		return broke("%d of %d attempts do not verify with the secret: %s", len(bad), len(hits), firstFew(bad))
	}
	return held("all %d attempts verify over their raw bodies", len(hits))
}

func (r *senderRun) gradeFresh() outcome {
	hits := r.webhooks()
	if len(hits) == 0 {
		return skipped("no attempt arrived (see sign.headers)")
	}
	var worst time.Duration
	var bad []string
	for _, h := range hits {
		ts, err := strconv.ParseInt(h.timestamp, 10, 64)
		if err != nil {
			continue // sign.headers says so
		}
		skew := h.at.Sub(time.Unix(ts, 0)).Abs()
		worst = max(worst, skew)
		if skew > webhook.DefaultTolerance {
			bad = append(bad, fmt.Sprintf("%s stamped %s from its arrival", h.id, skew.Round(time.Second)))
		}
	}
	if len(bad) > 0 {
		return broke("%d attempts not re-signed when sent: %s", len(bad), firstFew(bad))
	}
	return held("every attempt stamped within %s of its arrival (5 min allowed)", worst.Round(time.Second))
}

func (r *senderRun) gradeUnique() outcome {
	ids := r.triggers[gOK]
	if len(ids) == 0 {
		return skipped("the trigger was refused for the %s events", gOK)
	}
	arrived := map[string]bool{}
	owner := map[string]string{} // webhook-id -> the first event that carried it
	var shared []string
	for _, h := range r.webhooks() {
		if r.groupOf(h.id) != gOK {
			continue
		}
		arrived[h.id] = true
		if first, ok := owner[h.wireID]; !ok {
			owner[h.wireID] = h.id
		} else if first != h.id {
			shared = append(shared, fmt.Sprintf("%s and %s both as %s", first, h.id, orNone(h.wireID)))
		}
	}
	if len(arrived) != len(ids) {
		where := "the webhook-id"
		if !r.opts.IDFrom.IsNone() {
			where = "at " + r.opts.IDFrom.String()
		}
		return broke("%d events triggered, %d distinct ids of theirs arrived (is {{.ID}} %s?)", len(ids), len(arrived), where)
	}
	if len(shared) > 0 {
		return broke("distinct events arrived with the same webhook-id: %s", firstFew(shared))
	}
	if !r.opts.IDFrom.IsNone() {
		return held("%d events, told apart by %s, %d distinct webhook-ids of the sender's own", len(ids), r.opts.IDFrom, len(owner))
	}
	return held("%d events, %d distinct webhook-ids", len(ids), len(arrived))
}

// retried lists, per event of the retry groups, its attempts.
func (r *senderRun) retried() map[string][]hit {
	out := map[string][]hit{}
	for _, g := range []string{g5xx, gTimeout, gReset, gBackoff, g429, g503, gRedirect, gOutage, gThrottle} {
		for _, id := range r.triggers[g] {
			out[id] = r.attemptsOf(id)
		}
	}
	return out
}

func (r *senderRun) gradeStableID() outcome {
	var strangers []string
	for _, h := range r.webhooks() {
		if r.groupOf(h.id) == "" {
			strangers = append(strangers, orNone(h.id)+" at "+h.path)
		}
	}
	multi := 0
	var changed []string
	for id, hs := range r.retried() {
		if len(hs) < 2 {
			continue
		}
		multi++
		for _, h := range hs[1:] {
			if h.wireID != hs[0].wireID {
				changed = append(changed, fmt.Sprintf("%s: %s then %s", id, orNone(hs[0].wireID), orNone(h.wireID)))
				break
			}
		}
	}
	if len(strangers) > 0 {
		return broke("%d attempts carried an id hookrig never triggered (a new id per retry?): %s", len(strangers), firstFew(strangers))
	}
	if len(changed) > 0 {
		slices.Sort(changed)
		return broke("%d retried events changed their webhook-id between attempts: %s", len(changed), firstFew(changed))
	}
	if multi == 0 {
		return skipped("no event was retried within the window")
	}
	return held("%d retried events kept their webhook-id on every attempt", multi)
}

func (r *senderRun) gradeStableBody() outcome {
	var bad []string
	multi := 0
	for id, hs := range r.retried() {
		if len(hs) < 2 {
			continue
		}
		multi++
		for _, h := range hs[1:] {
			if h.body != hs[0].body {
				bad = append(bad, id)
				break
			}
		}
	}
	switch {
	case len(bad) > 0:
		slices.Sort(bad)
		return broke("%d retried events changed their body: %s", len(bad), firstFew(bad))
	case multi == 0:
		return skipped("no event was retried within the window")
	}
	return held("%d retried events sent the same body on every attempt", multi)
}

// gradeRetried: the group's event failed once (what) and must have been
// attempted again.
func (r *senderRun) gradeRetried(g, what string) outcome {
	ids := r.triggers[g]
	if len(ids) == 0 {
		return skipped("the trigger was refused")
	}
	hs := r.attemptsOf(ids[0])
	switch {
	case len(hs) == 0:
		return broke("the event never arrived within %s", r.opts.RetryWindow)
	case len(hs) == 1:
		return broke("after %s, no later attempt within %s", what, r.opts.RetryWindow)
	}
	return held("after %s, attempt 2 came %s later", what, ms(hs[1].at.Sub(hs[0].at)))
}

func (r *senderRun) gradeNoRetry() outcome {
	var bad []string
	for _, id := range r.triggers[gOK] {
		if n := r.attemptsOf(id); len(n) > 1 {
			bad = append(bad, fmt.Sprintf("%s ×%d", id, len(n)))
		}
	}
	if len(bad) > 0 {
		return broke("events answered 200 were sent again: %s", firstFew(bad))
	}
	return held("%d events answered 200 once each, none sent again within %s", len(r.triggers[gOK]), r.opts.Settle)
}

// gaps lists the times between an event's attempts.
func gaps(hs []hit) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(hs); i++ {
		out = append(out, hs[i].at.Sub(hs[i-1].at))
	}
	return out
}

func (r *senderRun) gradeBackoff() outcome {
	var firsts, lasts []time.Duration
	var seen []string
	for _, id := range r.triggers[gBackoff] {
		gs := gaps(r.attemptsOf(id))
		if len(gs) < 4 {
			continue
		}
		firsts, lasts = append(firsts, gs[0]), append(lasts, gs[3])
		seen = append(seen, durations(gs[:4]))
	}
	if len(seen) == 0 {
		return skipped("fewer than five attempts of each failing event within %s", r.opts.RetryWindow)
	}
	// Gaps drawn with full jitter may shrink one at a time; on average
	// over the events the fourth gap must clearly outgrow the first.
	first, last := mean(firsts), mean(lasts)
	if float64(last) < 1.5*float64(first) {
		return broke("gaps did not grow: mean first gap %s, mean fourth %s (%s)", ms(first), ms(last), strings.Join(seen, "; "))
	}
	return held("gaps grew: mean first gap %s, mean fourth %s (%s)", ms(first), ms(last), strings.Join(seen, "; "))
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = ms(d)
	}
	return strings.Join(parts, ", ")
}

func (r *senderRun) gradeJitter() outcome {
	// The events' first attempts were answered 500 at the same moment
	// (held until all had arrived), so a sender without jitter waits the
	// same time after each answer. Its gaps then differ only by timer and
	// scheduling noise, which does not grow with the backoff; jitter does.
	// Gaps are measured from hookrig's answer to the next attempt.
	var after [][]time.Duration // after[k]: each event's gap before attempt k+2
	for _, id := range r.triggers[gBackoff] {
		hs := r.attemptsOf(id)
		for k := 1; k < len(hs); k++ {
			if hs[k-1].answered.IsZero() {
				break
			}
			if len(after) < k {
				after = append(after, nil)
			}
			after[k-1] = append(after[k-1], hs[k].at.Sub(hs[k-1].answered))
		}
	}
	// Each retry level with at least two events votes. A level's spread
	// leaves out its earliest and latest gap when four or more events
	// reached it: one late timer on a busy machine (a lockstep sender
	// measured 42 ms late once at 800 ms under -race) moves one event, while
	// jitter moves them all. Lockstep is a spread under 3% of the gap and
	// under 5 ms (a timer's resolution); five draws of even ±10% jitter
	// fall that close about once in a hundred levels, so the verdict is
	// the majority's.
	var levels []string
	lockstep := 0
	for k, gs := range after {
		if len(gs) < 2 {
			continue
		}
		sorted := slices.Clone(gs)
		slices.Sort(sorted)
		if len(sorted) >= 4 {
			sorted = sorted[1 : len(sorted)-1]
		}
		spread := sorted[len(sorted)-1] - sorted[0]
		limit := max(5*time.Millisecond, mean(gs)*3/100)
		word := "apart"
		if spread < limit {
			lockstep++
			word = "lockstep"
		}
		levels = append(levels, fmt.Sprintf("attempt %d %s after the answer, spread %s (%s)", k+2, ms(mean(gs)), ms(spread), word))
	}
	if len(levels) == 0 {
		return skipped("fewer than two events failed together were retried")
	}
	if lockstep*2 > len(levels) {
		return broke("events failed together retried in lockstep at %d of %d retries: %s", lockstep, len(levels), strings.Join(levels, "; "))
	}
	return held("events failed together retried apart at %d of %d retries: %s", len(levels)-lockstep, len(levels), strings.Join(levels, "; "))
}

func (r *senderRun) gradeTimeoutBounded() outcome {
	ids := r.triggers[gTimeout]
	if len(ids) == 0 {
		return skipped("the trigger was refused")
	}
	hs := r.attemptsOf(ids[0])
	if len(hs) == 0 {
		return skipped("the event never arrived")
	}
	d := hs[0].silentFor
	if d == 0 || d > silentBound {
		return broke("the sender waited on an unanswered attempt over %s", silentBound)
	}
	return held("the sender gave up on an unanswered attempt after %s", ms(d))
}

func (r *senderRun) gradeRetryAfter(g, status string) outcome {
	ids := r.triggers[g]
	if len(ids) == 0 {
		return skipped("the trigger was refused")
	}
	hs := r.attemptsOf(ids[0])
	if len(hs) < 2 {
		return skipped("no attempt after the %s within %s (see the retry checks)", status, r.opts.RetryWindow)
	}
	gap := hs[1].at.Sub(hs[0].at)
	if gap < r.opts.RetryAfter {
		return broke("%s with Retry-After: %d, the next attempt came %s later", status, int(r.opts.RetryAfter/time.Second), ms(gap))
	}
	return held("%s with Retry-After: %d, the next attempt came %s later", status, int(r.opts.RetryAfter/time.Second), ms(gap))
}

func (r *senderRun) gradeRedirect() outcome {
	followed := 0
	for _, h := range r.hits {
		if strings.HasPrefix(h.path, "/redirected") {
			followed++
		}
	}
	ids := r.triggers[gRedirect]
	if followed > 0 {
		return broke("the 307 was followed %d times", followed)
	}
	if len(ids) == 0 || len(r.attemptsOf(ids[0])) < 2 {
		return broke("the 307 was not followed, but not retried either within %s: a 3xx is a failure", r.opts.RetryWindow)
	}
	return held("the 307 was not followed; the event was retried at its own URL")
}

func (r *senderRun) gradeOutage() outcome {
	ids := r.triggers[gOutage]
	if len(ids) == 0 {
		return skipped("the trigger was refused")
	}
	if n := r.groupSettledLocked(gOutage); n < len(ids) {
		return broke("%d of %d events of a %s outage not delivered within %s", len(ids)-n, len(ids), r.opts.Outage, r.opts.RetryWindow)
	}
	return held("all %d events of a %s outage delivered once it ended", len(ids), r.opts.Outage)
}

func (r *senderRun) gradeGone() outcome {
	gone := r.triggers[gGone]
	if len(gone) == 0 {
		return skipped("the trigger was refused")
	}
	hs := r.attemptsOf(gone[0])
	if len(hs) == 0 {
		return skipped("the event never arrived, so no 410 was answered")
	}
	after := 0
	for _, h := range r.webhooks() {
		if g := r.groupOf(h.id); (g == gGone || g == gAfterGone) && h.at.After(hs[0].at) {
			after++
		}
	}
	if after > 0 {
		return broke("%d attempts reached the endpoint after it answered 410", after)
	}
	how := "the next event was not delivered"
	if r.refused[gAfterGone] > 0 {
		how = "the next event was refused by the sender"
	}
	return held("after a 410, no further attempt within %s; %s", r.opts.Settle, how)
}

// gradeThrottle: after the burst of 429s the endpoint is left alone until
// the Retry-After has passed (the late events included: the sender slows
// the endpoint, not only the refused events), and the attempts that
// follow are paced rather than released as one herd.
func (r *senderRun) gradeThrottle() outcome {
	t := r.throttle
	switch {
	case t.skip != "":
		return skipped("%s", t.skip)
	case t.answered < throttleBurst:
		return skipped("only %d of the %d attempts to answer 429 arrived within the retry window", t.answered, throttleBurst)
	}
	ra := r.opts.RetryAfter
	quietUntil := t.lastAt.Add(ra - throttleSlack)
	early := 0
	var after []time.Time
	for _, h := range r.webhooks() {
		if g := r.groupOf(h.id); (g != gThrottle && g != gThrottleLate) || !h.at.After(t.lastAt) {
			continue
		}
		if h.at.Before(quietUntil) {
			early++
		} else {
			after = append(after, h.at)
		}
	}
	if len(after) < 2 {
		return skipped("after %d×429, %d attempts came within the retry window (fewer than two after the Retry-After)", throttleBurst, len(after)+early)
	}
	slices.SortFunc(after, time.Time.Compare) // handlers record their arrival before taking the lock
	herd := crowdest(after, herdWindow)
	evidence := fmt.Sprintf("after %d×429 Retry-After %ds: %d attempts in the next %s, then %d over %s (max %d in any %s)",
		throttleBurst, int(ra/time.Second), early, ms(ra-throttleSlack), len(after), ms(after[len(after)-1].Sub(after[0])), herd, ms(herdWindow))
	// At most one early attempt: a sender that slows the whole endpoint
	// sends none, one that only delays the refused events sends the late
	// ones at once. At most a quarter in any 100 ms: paced attempts, or
	// retries jittered over a second, not the refused events all
	// returning when their Retry-After ends.
	if early > 1 || herd > len(after)/4 {
		return broke("%s", evidence)
	}
	return held("%s", evidence)
}

// crowdest is the most of the (sorted) times within any span d.
func crowdest(at []time.Time, d time.Duration) int {
	most, lo := 0, 0
	for hi := range at {
		for at[hi].Sub(at[lo]) >= d {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}
