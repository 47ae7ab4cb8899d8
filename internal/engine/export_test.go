package engine

// PasswordRecentRule exposes the recent-password rule to the table test.
var PasswordRecentRule = passwordRecent
