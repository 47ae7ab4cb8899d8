package ags

import "log/slog"

// WriteError lends the AGS error writer to the external tests.
var WriteError = (&Handler{log: slog.New(slog.DiscardHandler)}).writeError
