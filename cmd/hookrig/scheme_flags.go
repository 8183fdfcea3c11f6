package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrig/hookrig/reference/webhook"
)

// schemeFlags are --scheme and --id-from, shared by every command that
// signs or verifies webhooks, so that each names and checks them alike.
type schemeFlags struct {
	name   string
	idFrom string
}

// register adds --scheme, and --id-from when withIDFrom.
func (s *schemeFlags) register(f *pflag.FlagSet, withIDFrom bool) {
	f.StringVar(&s.name, "scheme", webhook.DefaultScheme, "signature scheme: "+strings.Join(webhook.SchemeNames(), ", ")+" (docs/schemes.md)")
	if withIDFrom {
		f.StringVar(&s.idFrom, "id-from", "", "where the event id is read: header:NAME or json:PATH, e.g. json:data.hookrig_id (default: the scheme's own place)")
	}
}

// standard reports whether the scheme reads whsec_ base64 secrets
// (standard and svix), which checkSecrets can vet.
func (s *schemeFlags) standard() bool {
	return s.isDefault() || strings.EqualFold(s.name, "svix")
}

// isDefault reports whether --scheme is Standard Webhooks.
func (s *schemeFlags) isDefault() bool {
	return s.name == "" || strings.EqualFold(s.name, webhook.DefaultScheme)
}

// idSource parses --id-from; none when it is not given.
func (s *schemeFlags) idSource() (webhook.IDSource, error) {
	if strings.TrimSpace(s.idFrom) == "" {
		return webhook.IDSource{}, nil
	}
	src, err := webhook.ParseIDSource(s.idFrom)
	if err != nil {
		return src, fmt.Errorf("--id-from: %w", err)
	}
	return src, nil
}

// build keys the scheme with secrets and parses --id-from. The IDSource
// returned is --id-from when given, else the scheme's own.
func (s *schemeFlags) build(secrets []string, tolerance time.Duration) (webhook.Scheme, webhook.IDSource, error) {
	src, err := s.idSource()
	if err != nil {
		return nil, src, err
	}
	sc, err := webhook.NewScheme(s.name, webhook.Options{Secrets: secrets, Tolerance: tolerance})
	if err != nil {
		return nil, src, fmt.Errorf("--scheme: %w", err)
	}
	if src.IsNone() {
		src = sc.IDFrom()
	}
	return sc, src, nil
}
