package sender

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

// createEndpoint keeps a new endpoint in the bbolt outbox.
func (b *boltStore) createEndpoint(spec EndpointSpec) (Endpoint, error) {
	s := (*Sender)(b)
	rec, rt, err := s.newEndpoint(spec)
	if err != nil {
		return Endpoint{}, err
	}
	errc := make(chan error, 1)
	s.ob.submit(func(t *txb, c *counters) error { return t.putEndpoint(rec) }, func(err error) {
		if err == nil {
			s.d.mu.Lock()
			s.d.endpoints[rec.ID] = rt
			s.d.mu.Unlock()
		}
		errc <- err
	})
	if err := <-errc; err != nil {
		return Endpoint{}, s.stopped(err)
	}
	return *rec, nil
}

// newEndpoint checks an endpoint's spec and builds its record and the
// dispatcher's view of it; whichever outbox keeps it, the checks are
// these.
func (s *Sender) newEndpoint(spec EndpointSpec) (*Endpoint, *endpointRT, error) {
	if err := s.usable(); err != nil {
		return nil, nil, err
	}
	u, err := targetGuard{refusePrivate: s.cfg.RefusePrivate}.checkEndpointURL(context.Background(), spec.URL)
	if err != nil {
		return nil, nil, err
	}
	scheme, err := checkScheme(spec.Scheme)
	if err != nil {
		return nil, nil, err
	}
	secret, err := checkSchemeSecret(scheme, spec.Secret)
	if err != nil {
		return nil, nil, err
	}
	policy := s.cfg.DefaultPolicy
	if spec.Policy != nil {
		policy = *spec.Policy
	}
	if err := policy.Validate(); err != nil {
		return nil, nil, invalid("%v", err)
	}
	if err := s.checkPolicyBounds(policy); err != nil {
		return nil, nil, err
	}
	now := s.clock.Now()
	rec := &Endpoint{ID: newID("ep_", now), URL: u, Secret: secret, Scheme: scheme, Policy: policy, CreatedAt: now.UTC()}
	rt, err := newEndpointRT(rec)
	if err != nil {
		return nil, nil, invalid("secret: %v", err)
	}
	return rec, rt, nil
}

// Endpoint returns one endpoint.
func (b *boltStore) endpoint(id string) (Endpoint, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return Endpoint{}, err
	}
	var rec *Endpoint
	err := s.ob.view(func(t *txb) (err error) {
		rec, err = t.endpoint(id)
		return err
	})
	if err != nil {
		return Endpoint{}, err
	}
	if rec == nil {
		return Endpoint{}, notFound("no endpoint %q", id)
	}
	return *rec, nil
}

// Endpoints lists every endpoint, oldest first.
func (b *boltStore) endpoints() ([]Endpoint, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return nil, err
	}
	out := []Endpoint{}
	err := s.ob.view(func(t *txb) error {
		return t.eachEndpoint(func(r *Endpoint) error {
			out = append(out, *r)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// DeleteEndpoint removes an endpoint. Its pending events are
// dead-lettered ("endpoint deleted") and stay readable; attempts in flight
// finish and are dead-lettered unless they were delivered.
func (b *boltStore) deleteEndpoint(id string) error {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return err
	}
	s.d.mu.Lock()
	ep := s.d.endpoints[id]
	if ep == nil {
		s.d.mu.Unlock()
		return notFound("no endpoint %q", id)
	}
	// Stop attempts before the change is queued, under the lock every
	// attempt's outcome is decided and queued under: outcomes decided
	// before are written before the change, and those decided after see
	// the endpoint gone.
	was := *ep
	ep.disabled, ep.gone, ep.reason = true, true, "endpoint deleted"
	// Attempts claimed and not started are dropped with it: their events
	// are dead-lettered with the rest.
	back := s.d.takeClaims(ep, false)
	var dead []uint64
	errc := make(chan error, 1)
	s.ob.submit(func(t *txb, c *counters) (err error) {
		if err := t.unclaim(back); err != nil {
			return err
		}
		dead, err = t.deadLetterPending(c, id, "endpoint deleted", s.clock.Now())
		if err != nil {
			return err
		}
		return t.deleteEndpoint(id)
	}, func(err error) {
		s.d.mu.Lock()
		if err != nil {
			ep.disabled, ep.gone, ep.reason = was.disabled, was.gone, was.reason
			s.d.requeue(back)
		} else {
			delete(s.d.endpoints, id)
			s.d.finalAll(dead, s.clock.Now())
		}
		s.d.mu.Unlock()
		s.d.poke()
		errc <- err
	})
	s.d.mu.Unlock()
	return s.stopped(<-errc)
}

// EnableEndpoint re-enables an endpoint disabled after a 410 Gone. Its
// dead-lettered events stay in the dead-letter queue: replay them.
func (b *boltStore) enableEndpoint(id string) (Endpoint, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return Endpoint{}, err
	}
	var rec *Endpoint
	errc := make(chan error, 1)
	s.ob.submit(func(t *txb, c *counters) (err error) {
		rec, err = t.endpoint(id)
		if err != nil {
			return err
		}
		if rec == nil {
			return notFound("no endpoint %q", id)
		}
		rec.Disabled, rec.DisabledReason, rec.DisabledAt = false, "", time.Time{}
		return t.putEndpoint(rec)
	}, func(err error) {
		if err == nil {
			s.d.mu.Lock()
			if ep := s.d.endpoints[id]; ep != nil {
				ep.disabled, ep.reason, ep.breaker = false, "", delivery.BreakerState{}
			}
			s.d.mu.Unlock()
			s.d.poke()
		}
		errc <- err
	})
	if err := <-errc; err != nil {
		return Endpoint{}, s.stopped(err)
	}
	return *rec, nil
}

// checkScheme returns the endpoint's scheme name as stored: "" for
// Standard Webhooks (so that endpoints stored before schemes existed read
// the same), else the registry name.
func checkScheme(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == webhook.DefaultScheme {
		return "", nil
	}
	if !slices.Contains(webhook.SchemeNames(), name) {
		return "", invalid("scheme %q: want one of %s", name, strings.Join(webhook.SchemeNames(), ", "))
	}
	return name, nil
}

// checkSchemeSecret checks the secret as the scheme reads it: whsec_
// base64 for standard and svix, any non-blank string for the others,
// whose HMAC is keyed with the string's bytes. An empty one is generated
// (a whsec_ secret serves every scheme).
func checkSchemeSecret(scheme, raw string) (string, error) {
	if scheme == "" || scheme == "svix" || strings.TrimSpace(raw) == "" {
		return checkSecret(raw)
	}
	return raw, nil
}
