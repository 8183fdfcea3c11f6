package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
)

// schemeFlags are --scheme and --id-from, shared by every command that
// signs or verifies webhooks, so that each names and checks them alike.
type schemeFlags struct {
	name   string
	idFrom string
	// nameFromFile and idFromFile say that the value came from the
	// scenario file, not the command line (the replay line, which names
	// the file, leaves them out).
	nameFromFile, idFromFile bool
}

// fromScenario takes the scenario's scheme and id_from where the command
// line gave no --scheme or --id-from: the flags override the file.
func (s *schemeFlags) fromScenario(f *pflag.FlagSet, sc *scenarios.Scenario) {
	if sc.Scheme != "" && !f.Changed("scheme") {
		s.name, s.nameFromFile = sc.Scheme, true
	}
	if !sc.IDFrom.IsNone() && !f.Changed("id-from") {
		s.idFrom, s.idFromFile = sc.IDFrom.String(), true
	}
}

// replayArgs are --scheme and --id-from as the command line gave them,
// for a replay line.
func (s *schemeFlags) replayArgs() []string {
	var out []string
	if !s.isDefault() && !s.nameFromFile {
		out = append(out, "--scheme "+shellQuote(s.name))
	}
	if s.idFrom != "" && !s.idFromFile {
		out = append(out, "--id-from "+shellQuote(s.idFrom))
	}
	return out
}

// register adds --scheme, and --id-from when withIDFrom.
func (s *schemeFlags) register(f *pflag.FlagSet, withIDFrom bool) {
	f.StringVar(&s.name, "scheme", webhook.DefaultScheme, "signature scheme: "+strings.Join(webhook.SchemeNames(), ", ")+" (docs/schemes.md)")
	if withIDFrom {
		s.registerIDFrom(f, "where the event id is read: header:NAME or json:PATH, e.g. json:data.hookrig_id (default: the scheme's own place)")
	}
}

// registerIDFrom adds --id-from alone, for a command whose scheme is fixed.
func (s *schemeFlags) registerIDFrom(f *pflag.FlagSet, usage string) {
	f.StringVar(&s.idFrom, "id-from", "", usage)
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

// virtualSchemeNote is what `hookrig sim` says of a scenario's scheme.
// Virtual time models deliveries, not their bytes: a scheme changes only
// how each request is signed, so the model runs it as it runs standard
// and the note says so. One that carries no event id (slack) without an
// id_from is refused, as a live run refuses it: its deliveries could not
// be matched to events.
func virtualSchemeNote(sc *scenarios.Scenario) (string, error) {
	if sc.Scheme == "" || sc.Scheme == webhook.DefaultScheme {
		return "", nil
	}
	scheme, err := webhook.NewScheme(sc.Scheme, webhook.Options{Secrets: []string{"probe"}})
	if err != nil {
		return "", fmt.Errorf("scheme: %w", err)
	}
	src := sc.IDFrom
	if src.IsNone() {
		src = scheme.IDFrom()
	}
	if src.IsNone() {
		return "", fmt.Errorf("scheme %s carries no event id, so deliveries cannot be matched to events: add id_from: json:PATH to the scenario (e.g. json:id, where hookrig's payloads keep it)", scheme.Name())
	}
	return fmt.Sprintf("signature scheme %s, event ids at %s: virtual time does not sign or verify requests, so it runs as standard does; hookrig run checks the signatures live", scheme.Name(), src), nil
}
