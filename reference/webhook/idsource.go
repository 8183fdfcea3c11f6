package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// IDSource says where a request carries its event id: in a header
// (webhook-id, X-GitHub-Delivery), at a path in the JSON body (Stripe's
// "id", or "data.hookrig_id" for a sender that mints its own ids but carries
// the payload hookrig gave it), or nowhere (Slack). It is the value behind
// --id-from header:NAME and --id-from json:PATH.
type IDSource struct {
	Header   string // the header holding the id, or ""
	JSONPath string // the dot-separated path to the id in a JSON body, or ""
}

// IDInHeader reads the id from header name.
func IDInHeader(name string) IDSource { return IDSource{Header: name} }

// IDInJSON reads the id from a dot-separated path in a JSON body.
func IDInJSON(path string) IDSource { return IDSource{JSONPath: path} }

// ParseIDSource reads "header:NAME" or "json:PATH" (the --id-from syntax).
func ParseIDSource(spec string) (IDSource, error) {
	kind, arg, ok := strings.Cut(strings.TrimSpace(spec), ":")
	arg = strings.TrimSpace(arg)
	if ok && arg != "" {
		switch strings.ToLower(kind) {
		case "header":
			if strings.ContainsAny(arg, " \t:") {
				return IDSource{}, fmt.Errorf("id source %q: %q is not a header name", spec, arg)
			}
			return IDInHeader(arg), nil
		case "json":
			if err := checkJSONPath(arg); err != nil {
				return IDSource{}, fmt.Errorf("id source %q: %v", spec, err)
			}
			return IDInJSON(arg), nil
		}
	}
	return IDSource{}, fmt.Errorf("id source %q: want header:NAME (e.g. header:webhook-id) or json:PATH (e.g. json:data.hookrig_id)", spec)
}

func checkJSONPath(path string) error {
	for seg := range strings.SplitSeq(path, ".") {
		if seg == "" {
			return fmt.Errorf("JSON path %q has an empty segment (want keys joined by dots, e.g. data.hookrig_id)", path)
		}
	}
	return nil
}

// IsNone reports whether the source names no place at all.
func (s IDSource) IsNone() bool { return s.Header == "" && s.JSONPath == "" }

// String renders the source in the --id-from syntax, or "none".
func (s IDSource) String() string {
	switch {
	case s.Header != "":
		return "header:" + s.Header
	case s.JSONPath != "":
		return "json:" + s.JSONPath
	}
	return "none"
}

// Extract reads the id of one request. It fails with a *VerifyError
// (Scheme "id-from"): MissingHeader for an absent header, BadFormat for a
// body that is not JSON or an id that is neither a string nor a number,
// MissingID when the path leads nowhere. A source that is none yields "".
func (s IDSource) Extract(h HeaderGetter, body []byte) (string, error) {
	return s.extract("id-from", h, body)
}

func (s IDSource) extract(scheme string, h HeaderGetter, body []byte) (string, error) {
	switch {
	case s.Header != "":
		id := h.Get(s.Header)
		if id == "" {
			return "", &VerifyError{Scheme: scheme, Failure: MissingHeader, Field: s.Header, Detail: "want the event id in it"}
		}
		return id, nil
	case s.JSONPath != "":
		return jsonID(scheme, s.JSONPath, body)
	}
	return "", nil
}

// jsonID walks a dot-separated path of object keys (a segment that is a
// whole number indexes an array) and returns the string or number found.
// A number is returned as written, so "id": 42 and "id": "42" agree.
func jsonID(scheme, path string, body []byte) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", &VerifyError{Scheme: scheme, Failure: BadFormat, Field: "body", Detail: fmt.Sprintf("not JSON (%v); the event id is expected at %s", err, path)}
	}
	walked := ""
	for seg := range strings.SplitSeq(path, ".") {
		if walked != "" {
			walked += "."
		}
		walked += seg
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[seg]
			if !ok {
				return "", &VerifyError{Scheme: scheme, Failure: MissingID, Field: "body", Detail: fmt.Sprintf("no %s in the JSON body", walked)}
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return "", &VerifyError{Scheme: scheme, Failure: MissingID, Field: "body", Detail: fmt.Sprintf("no %s in the JSON body (an array of %d there)", walked, len(node))}
			}
			v = node[i]
		default:
			return "", &VerifyError{Scheme: scheme, Failure: MissingID, Field: "body", Detail: fmt.Sprintf("no %s in the JSON body (a %s before it)", walked, jsonKind(v))}
		}
	}
	switch id := v.(type) {
	case string:
		if id == "" {
			return "", &VerifyError{Scheme: scheme, Failure: MissingID, Field: "body", Detail: fmt.Sprintf("%s is an empty string", path)}
		}
		return id, nil
	case json.Number:
		return id.String(), nil
	}
	return "", &VerifyError{Scheme: scheme, Failure: BadFormat, Field: "body", Detail: fmt.Sprintf("%s is a %s, want a string or a number", path, jsonKind(v))}
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case json.Number:
		return "number"
	case string:
		return "string"
	}
	return fmt.Sprintf("%T", v)
}
