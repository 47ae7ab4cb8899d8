package proxy

// WriteError lends the WSAUTH error writer to the external tests.
var WriteError = writeError
