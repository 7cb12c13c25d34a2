package auth

import "errors"

// Reasons a token is refused. Authenticators wrap them with the specifics,
// and Middleware sends the resulting message as the problem's detail, so a
// client learns whether to fetch a new token or fix its configuration.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("invalid signature")
	ErrIssuer    = errors.New("wrong issuer")
	ErrAudience  = errors.New("wrong audience")
	ErrExpired   = errors.New("token expired")
	ErrNotYet    = errors.New("token not valid yet")
	ErrRole      = errors.New("role claim rejected")
	ErrSubject   = errors.New("subject claim rejected")
)
