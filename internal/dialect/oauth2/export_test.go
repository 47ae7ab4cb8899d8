package oauth2

// WriteError lends the RFC 6749 error writer to the external tests.
var WriteError = writeError
