package auth

import (
	"context"
	"fmt"
)

// Role is what a caller may do.
type Role string

const (
	RoleRegistry Role = "registry"
	RoleCitizen  Role = "citizen"
	RoleAgency   Role = "agency"
	RoleAuditor  Role = "auditor"
	RoleOperator Role = "operator"
)

// Roles lists every role.
var Roles = []Role{RoleRegistry, RoleCitizen, RoleAgency, RoleAuditor, RoleOperator}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want one of registry, citizen, agency, auditor, operator)", s)
}

// Principal is an authenticated caller. Subject is a person id for a
// citizen, a registry source URI for a registry, an official's or system's
// id otherwise.
type Principal struct {
	Role    Role
	Subject string
}

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of an authenticated request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
