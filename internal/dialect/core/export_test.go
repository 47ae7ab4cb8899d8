package core

import "log/slog"

// WriteError lends Core's error writer to the external tests.
var WriteError = (&Handler{log: slog.New(slog.DiscardHandler)}).writeError
