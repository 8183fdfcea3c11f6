package httpapi

import "github.com/gorilla/mux"

// NewRouter is a mux router whose 404 and 405 answers are JSON errors like
// every other answer of our APIs (mux's own are plain text). Note that mux
// middleware (r.Use) does not run for them: wrap the router instead.
func NewRouter() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = notFound()
	r.MethodNotAllowedHandler = methodNotAllowed()
	return r
}
