// Package auth turns a bearer token into a Principal: a role and a subject.
//
// Every request of the public API carries Authorization: Bearer <token>.
// Middleware hands the token to an Authenticator and either answers 401 with
// an RFC 9457 problem saying exactly why the token was refused, or stores the
// Principal in the request context; RequireRole then answers 403 to callers
// outside the roles a route allows.
//
// Two authenticators exist:
//
//   - Dev signs HS256 JWTs with a secret kept in the data directory, so
//     development tokens survive a restart and a token minted for one data
//     directory is worthless against another. It is for development mode only:
//     whoever can read the data directory can mint any role.
//   - OIDC verifies tokens issued by an OpenID provider against its JWKS. Only
//     asymmetric algorithms are accepted (an HMAC "signature" made with a
//     public key must never pass), the issuer must match, and when an audience
//     is configured the token must be meant for this service, so that a token
//     the provider issued to some other application cannot be replayed here.
//
// Both check expiry against the injected clock.Clock, never the wall clock:
// with a manual clock, time in the token checks moves exactly as the
// orchestrator's time does. Both require a role that ParseRole accepts and a
// non-empty subject, since every authorisation decision downstream is made on
// these two values.
package auth
