package conform

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookrig/hookrig/reference/webhook"
)

// The checks of a scheme other than Standard Webhooks. Each forgery,
// rotation and timestamp check is the standard one rewritten over the
// scheme's Description; what the scheme itself cannot catch (a GitHub
// delivery id rewritten, a timestamp Shopify never signs) is not held
// against the receiver but said, with the replay risk it leaves.

// otherSecret is a secret that is not the endpoint's, written so that
// every scheme accepts it (standard and svix want whsec_ and base64).
var otherSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("hookrig conform: not the endpoint's secret"))

// withBodyID puts the event id into a JSON object body for a scheme that
// reads it from the body (stripe's "id"), so that redeliveries share it
// and distinct webhooks do not; other bodies are sent as they are.
func (r *receiverRun) withBodyID(id string, body []byte) []byte {
	path := r.desc.IDFrom.JSONPath
	if path == "" || strings.Contains(path, ".") || len(body) == 0 || body[0] != '{' {
		return body
	}
	return append([]byte(`{"`+path+`":`+strconv.Quote(id)+`,`), body[1:]...)
}

// unsignedTime is the skip of every timestamp check under a scheme that
// signs no time.
func (r *receiverRun) unsignedTime() (outcome, bool) {
	if r.scheme == nil || r.desc.Tolerance > 0 {
		return outcome{}, false
	}
	return skipped("the %s scheme signs no timestamp: a captured webhook verifies for ever, and only deduplication by %s keeps a replay from being processed again",
		r.desc.Name, r.desc.IDFrom), true
}

// noID is the skip of the processed-once checks under a scheme without
// an event id.
func (r *receiverRun) noID() (outcome, bool) {
	if r.scheme == nil || !r.desc.IDFrom.IsNone() {
		return outcome{}, false
	}
	return skipped("the %s scheme carries no event id: a redelivery cannot be told from a new event, so it is processed again (replays are bounded only by the %s timestamp tolerance)",
		r.desc.Name, r.desc.Tolerance), true
}

// schemeForgeries break a correctly signed webhook one way each: another
// secret, the body, the id, the timestamp, and each header the scheme
// writes, removed or emptied.
func (r *receiverRun) schemeForgeries() []forgery {
	d := r.desc
	fs := []forgery{
		{"wrong secret", func(r *receiverRun, w *webhookReq) {
			other, err := webhook.NewScheme(d.Name, webhook.Options{Secrets: []string{otherSecret}})
			if err != nil {
				return // cannot happen: the name was checked
			}
			for _, h := range d.Headers {
				w.header.Del(h)
			}
			other.Sign(w.header, w.id, w.at, w.body)
		}},
		{"body changed by one byte", func(r *receiverRun, w *webhookReq) {
			w.body = append([]byte(nil), w.body...)
			w.body[len(w.body)-2] ^= 0x01
		}},
	}
	if d.IDFrom.Header != "" {
		fs = append(fs, forgery{d.IDFrom.Header + " changed", func(r *receiverRun, w *webhookReq) {
			w.header.Set(d.IDFrom.Header, w.header.Get(d.IDFrom.Header)+"x")
		}})
	}
	if d.TimestampHeader != "" {
		fs = append(fs, forgery{"timestamp changed", func(r *receiverRun, w *webhookReq) {
			ts := strconv.FormatInt(w.at.Unix(), 10)
			v := w.header.Get(d.TimestampHeader)
			// Within tolerance: only the signature can catch it.
			w.header.Set(d.TimestampHeader, strings.Replace(v, ts, strconv.FormatInt(w.at.Unix()-1, 10), 1))
		}})
	}
	for _, h := range d.Headers {
		fs = append(fs,
			forgery{h + " missing", func(r *receiverRun, w *webhookReq) { w.header.Del(h) }},
			forgery{h + " empty", func(r *receiverRun, w *webhookReq) { w.header.Set(h, "") }})
	}
	return fs
}

// checkInvalidScheme is signature.invalid-rejected for a scheme: a forgery
// that the scheme's own verification accepts (a GitHub delivery id
// changed, Convoy's optional id header removed) is not sent, but listed
// with the risk it leaves.
func checkInvalidScheme(ctx context.Context, r *receiverRun) outcome {
	var bad, open []string
	codes := map[int]int{}
	sent := 0
	for _, f := range r.schemeForgeries() {
		w := r.fresh(f.name, "signature.invalid-rejected")
		f.forge(r, &w)
		if _, err := r.scheme.Verify(w.header, w.body, w.at); err == nil {
			open = append(open, f.name)
			continue
		}
		sent++
		a := r.send(ctx, w)
		codes[a.status]++
		if !a.rejected() {
			bad = append(bad, f.name+" → "+a.String())
		}
	}
	note := ""
	if len(open) > 0 {
		note = fmt.Sprintf("; not sent, as the %s scheme itself accepts them: %s", r.desc.Name, strings.Join(open, ", "))
	}
	if !r.desc.SignsID && !r.desc.IDFrom.IsNone() {
		note += fmt.Sprintf("; %s is not signed: a captured webhook replayed under a new id verifies and is processed again", r.desc.IDFrom)
	}
	if len(bad) > 0 {
		return broke("%d of %d forged webhooks not answered 4xx: %s%s", len(bad), sent, strings.Join(bad, "; "), note)
	}
	return held("all %d forged webhooks answered 4xx (%s)%s", sent, tally(codes), note)
}

// checkRotationScheme signs with a retired secret and the endpoint's, for
// a scheme whose header carries several signatures (svix, stripe,
// convoy); one with room for one signature is skipped.
func checkRotationScheme(ctx context.Context, r *receiverRun) outcome {
	two, err := webhook.NewScheme(r.desc.Name, webhook.Options{Secrets: []string{otherSecret, r.opts.Secret}})
	if err != nil {
		return skipped("%v", err)
	}
	w := r.fresh("rotation", "signature.rotation")
	for _, h := range r.desc.Headers {
		w.header.Del(h)
	}
	two.Sign(w.header, w.id, w.at, w.body)
	if _, err := r.scheme.Verify(w.header, w.body, w.at); err != nil {
		return skipped("the %s scheme carries one signature per webhook: rotation is the receiver trying each of its secrets", r.desc.Name)
	}
	a := r.send(ctx, w)
	if !a.ok() {
		return broke("two signatures, an old secret's first and the valid one second, answered %s: only the first is tried?", a)
	}
	return held("the valid signature second of two (after an old secret's) answered %s", a)
}
