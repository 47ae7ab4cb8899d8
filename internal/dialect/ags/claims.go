package ags

import (
	"github.com/tokengate/tokengate/internal/engine"
	"github.com/tokengate/tokengate/internal/token"
)

// Claims is the ClaimsFunc of the "ags" policy: the AGS claims that apply
// to tokengate's sessions. It reads only the stored tenant, user and
// session, so a token minted again (the grace window) comes out the same.
func Claims(in engine.ClaimsInput) map[string]any {
	typ := "DevAuthN"
	if in.Use == token.UseRefresh {
		typ = "RefreshAuthN"
	}
	m := map[string]any{
		"typ":       typ,
		"ver":       "1.0",
		"tenantId":  in.Tenant.Name,
		"accountId": in.User.ID,
		"userId":    in.User.ID,
		"fixed_exp": in.Session.AbsoluteExpiresAt.Unix(),
		"sessionControl": map[string]any{
			"maxSessions":           in.Tenant.MaxSessions,
			"sessionControlEnabled": in.Tenant.MaxSessions > 0,
		},
	}
	if in.Session.DeviceID != "" {
		m["deviceId"] = in.Session.DeviceID
	}
	return m
}
