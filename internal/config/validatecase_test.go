package config

import (
	"strings"
	"testing"
)

// validateCase is a change to the default configuration and what Validate
// must say about it.
type validateCase struct {
	name   string
	mutate func(*Config)
	want   string // substring of the error; "" = valid
}

// checkValidate runs each case as a subtest on a fresh Default().
func checkValidate(t *testing.T, tests []validateCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error about %q", err, tc.want)
			}
		})
	}
}
