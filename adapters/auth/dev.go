package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"lifesituations/domain/clock"
)

// DevIssuer is the iss claim of development tokens.
const DevIssuer = "lifesituations-dev"

// DefaultDevLifetime is how long a development token stays valid.
const DefaultDevLifetime = 12 * time.Hour

// Dev issues and verifies development tokens: HS256 JWTs signed with a
// secret kept in the data directory.
type Dev struct {
	secret   []byte
	clock    clock.Clock
	lifetime time.Duration
	parser   *jwt.Parser
}

var _ Authenticator = (*Dev)(nil)

// DevOption configures NewDev.
type DevOption func(*Dev)

// WithLifetime sets how long issued tokens stay valid.
func WithLifetime(d time.Duration) DevOption {
	return func(dv *Dev) { dv.lifetime = d }
}

// NewDev loads the signing secret of dataDir, creating it on first use, so
// that tokens survive restarts with the same data directory.
func NewDev(dataDir string, c clock.Clock, opts ...DevOption) (*Dev, error) {
	if c == nil {
		return nil, errors.New("auth: dev tokens need a clock")
	}
	secret, err := loadOrCreateSecret(dataDir)
	if err != nil {
		return nil, err
	}
	d := &Dev{secret: secret, clock: c, lifetime: DefaultDevLifetime}
	for _, o := range opts {
		o(d)
	}
	if d.lifetime <= 0 {
		return nil, fmt.Errorf("auth: dev token lifetime must be positive, got %s", d.lifetime)
	}
	d.parser = jwt.NewParser(
		// Pinning the method stops a token from choosing its own algorithm.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(DevIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(c.Now),
	)
	return d, nil
}

type devClaims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Issue signs a token for p, valid from now for the configured lifetime.
func (d *Dev) Issue(p Principal) (string, error) {
	if _, err := ParseRole(string(p.Role)); err != nil {
		return "", fmt.Errorf("auth: issue dev token: %w", err)
	}
	if p.Subject == "" {
		return "", errors.New("auth: issue dev token: empty subject")
	}
	now := d.clock.Now()
	claims := devClaims{
		Role: string(p.Role),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    DevIssuer,
			Subject:   p.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(d.lifetime)),
		},
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(d.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign dev token: %w", err)
	}
	return token, nil
}

// Authenticate verifies a token issued by Issue with the same secret.
func (d *Dev) Authenticate(_ context.Context, token string) (Principal, error) {
	var claims devClaims
	_, err := d.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return d.secret, nil })
	if err != nil {
		return Principal{}, devError(err, &claims)
	}
	return principalFrom(claims.Role, "role", claims.Subject, "sub")
}

// devError maps jwt's errors onto ours. The checks go from the most basic
// failure up: claims of a token with a bad signature mean nothing.
func devError(err error, c *devClaims) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: not signed by this server's development key", ErrSignature)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fmt.Errorf("%w: %q, want %q", ErrIssuer, c.Issuer, DevIssuer)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w at %s", ErrExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: %w", ErrNotYet, err)
	default:
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
}

// principalFrom checks the two claims every authorisation decision rests on.
func principalFrom(role, roleClaim, subject, subjectClaim string) (Principal, error) {
	if role == "" {
		return Principal{}, fmt.Errorf("%w: claim %q missing", ErrRole, roleClaim)
	}
	r, err := ParseRole(role)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrRole, err)
	}
	if subject == "" {
		return Principal{}, fmt.Errorf("%w: claim %q missing or empty", ErrSubject, subjectClaim)
	}
	return Principal{Role: r, Subject: subject}, nil
}
