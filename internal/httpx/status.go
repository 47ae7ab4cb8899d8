package httpx

import (
	"net/http"

	"github.com/tokengate/tokengate/internal/engine"
)

// statuses is the HTTP status of each engine error class.
var statuses = map[engine.Class]int{
	engine.ClassBadRequest:   http.StatusBadRequest,
	engine.ClassUnauthorized: http.StatusUnauthorized,
	engine.ClassForbidden:    http.StatusForbidden,
	engine.ClassNotFound:     http.StatusNotFound,
	engine.ClassConflict:     http.StatusConflict,
	engine.ClassThrottled:    http.StatusTooManyRequests,
	engine.ClassBusy:         http.StatusServiceUnavailable,
	engine.ClassUnavailable:  http.StatusServiceUnavailable,
}

// Status returns the HTTP status of an engine error class, the one most
// surfaces give it (a dialect overrides it where its wire format says
// otherwise): 500 for ClassInternal.
func Status(c engine.Class) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}
