package adminapi

import "log/slog"

// WriteError lends the admin API's error writer to the external tests.
var WriteError = (&Handler{log: slog.New(slog.DiscardHandler)}).writeError
