package delivery

// The HTTP statuses the decisions name. This package must not import
// net/http (it would link package net into every scenario parser), so the
// few numbers it reads are here, and their texts come from
// internal/httpstatus (net/http's table, checked against it).
const (
	statusRequestTimeout     = 408
	statusGone               = 410
	statusTooManyRequests    = 429
	statusServiceUnavailable = 503
)
