// Package client is the Go client of tokengate. It talks HTTP only.
//
// New signs in at once (or resumes from saved tokens without a sign-in
// call) and returns a Client that keeps its tokens fresh by itself:
//
//	c, err := client.New(ctx, client.Config{
//		Address:  "http://127.0.0.1:8080",
//		Username: "broker",
//		Password: password,
//		UserID:   "MU00000000-0000-0000-0000-000000000000", // users in several organisations
//	})
//	if err != nil { ... }            // ErrInvalidCredentials, *ServerError…
//	resp, err := c.HTTPClient().Get(api + "/risks")
//
// The access token is renewed before it expires: its exp is read from the
// JWT (without verification: the client holds no keys, and the server
// verifies every token), less a margin of min(30 s, 10% of its lifetime).
// However many goroutines use the client, one renewal runs at a time and
// the others wait for it. A request answered 401 is retried once with a
// renewed token when its body can be replayed.
//
// A renewal uses the refresh token. When the server refuses it as expired
// or revoked, the client signs in again with its credentials; without
// credentials it returns ErrReauthenticate. A login that is not
// refresh-enabled gets no refresh token; the client then signs in again at
// each expiry, or, with Config.RequireRefreshToken, New fails with
// ErrRefreshNotEnabled.
//
// Tokens returns the current pair, and Config.OnTokens is called after
// each change, to persist them. A later client resumes with them
// (Config.AccessToken and Config.RefreshToken); give it the credentials as
// well, for when the refresh token has expired.
//
// The client speaks each of tokengate's dialects (Config.Dialect): OAuth
// 2.0 (the default, rotating refresh tokens), datarhei Core's /api/login
// (stable refresh tokens), AGS's /ags/signOn and /ags/refresh (rotating),
// and Sync Gateway's /{bucket}/_oidc_refresh, which only refreshes (with
// an API refresh token from the User Profile page).
//
// The client renews on demand, when a call needs a token that is due; it
// runs no timer. Config.Now is the clock it reads (time.Now by default):
// a test gives it a settable clock, shared with the server's, and moves
// renewals without waiting.
//
// TokenSource adapts the client to golang.org/x/oauth2.TokenSource.
package client
