package syncgw

// WriteError lends Sync Gateway's error writer to the external tests.
var WriteError = writeError
