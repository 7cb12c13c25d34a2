package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"lifesituations/domain/clock"
)

// OIDCConfig says which OpenID provider's tokens to trust.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, compared exactly with iss.
	Issuer string
	// JWKSURL is where the provider publishes its signing keys. When empty
	// it is discovered from Issuer's /.well-known/openid-configuration.
	JWKSURL string
	// Audience, when set, must appear in aud. Leave it empty only when the
	// provider issues tokens to nothing but this service.
	Audience string
	// RoleClaim names the claim holding the role; default "role".
	RoleClaim string
	// SubjectClaim names the claim holding the subject; default "sub".
	SubjectClaim string
	// Clock decides expiry; required.
	Clock clock.Clock
	// HTTPClient fetches discovery and keys; default http.DefaultClient.
	HTTPClient *http.Client
}

// signingAlgs are the asymmetric algorithms accepted. HMAC is left out on
// purpose: a verifier that accepted HS256 could be fooled by a token "signed"
// with the provider's public key.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// OIDC verifies tokens issued by an OpenID provider.
type OIDC struct {
	cfg      OIDCConfig
	verifier *oidc.IDTokenVerifier
}

var _ Authenticator = (*OIDC)(nil)

// NewOIDC prepares verification of cfg.Issuer's tokens. Keys are fetched
// lazily, on the first token and whenever a token names an unknown key, so
// the provider's key rotation needs no restart. ctx carries cfg.HTTPClient
// to those later fetches; its cancellation only affects discovery.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: OIDC issuer is required")
	}
	if cfg.Clock == nil {
		return nil, errors.New("auth: OIDC verification needs a clock")
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "role"
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	if cfg.JWKSURL == "" {
		jwksURL, err := discoverJWKS(ctx, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		cfg.JWKSURL = jwksURL
	}
	keys := &tracingKeySet{KeySet: oidc.NewRemoteKeySet(ctx, cfg.JWKSURL)}
	verifier := oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		ClientID:             cfg.Audience,
		SkipClientIDCheck:    cfg.Audience == "",
		SupportedSigningAlgs: signingAlgs,
		Now:                  cfg.Clock.Now,
	})
	return &OIDC{cfg: cfg, verifier: verifier}, nil
}

func discoverJWKS(ctx context.Context, issuer string) (string, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return "", fmt.Errorf("auth: discover OIDC provider %s: %w", issuer, err)
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return "", fmt.Errorf("auth: read discovery document of %s: %w", issuer, err)
	}
	if meta.JWKSURL == "" {
		return "", fmt.Errorf("auth: discovery document of %s has no jwks_uri", issuer)
	}
	return meta.JWKSURL, nil
}

// Authenticate verifies token and reads the role and subject claims.
func (o *OIDC) Authenticate(ctx context.Context, token string) (Principal, error) {
	// A first look without the signature only serves precise refusals, and
	// spares a key fetch for tokens of another issuer; go-oidc checks the
	// same claims again once the signature holds.
	var unverified jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &unverified); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if unverified.Issuer != o.cfg.Issuer {
		return Principal{}, fmt.Errorf("%w: %q, want %q", ErrIssuer, unverified.Issuer, o.cfg.Issuer)
	}
	if o.cfg.Audience != "" && !slices.Contains(unverified.Audience, o.cfg.Audience) {
		return Principal{}, fmt.Errorf("%w: token is for %q, want %q", ErrAudience, []string(unverified.Audience), o.cfg.Audience)
	}

	trace := &verifyTrace{}
	idToken, err := o.verifier.Verify(context.WithValue(ctx, verifyTraceKey{}, trace), token)
	if err != nil {
		return Principal{}, o.verifyError(err, trace, unverified.NotBefore)
	}

	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("%w: read claims: %w", ErrMalformed, err)
	}
	role, err := stringClaim(claims, o.cfg.RoleClaim)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrRole, err)
	}
	subject, err := stringClaim(claims, o.cfg.SubjectClaim)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrSubject, err)
	}
	return principalFrom(role, o.cfg.RoleClaim, subject, o.cfg.SubjectClaim)
}

// verifyError names the step of go-oidc's verification that failed. The
// claims it was given are only trusted once the signature check passed.
func (o *OIDC) verifyError(err error, trace *verifyTrace, nbf *jwt.NumericDate) error {
	var expired *oidc.TokenExpiredError
	switch {
	case trace.signatureErr != nil:
		// Also covers an unreachable JWKS endpoint: the message says which.
		return fmt.Errorf("%w: %w", ErrSignature, trace.signatureErr)
	case errors.As(err, &expired):
		return fmt.Errorf("%w at %s", ErrExpired, expired.Expiry.UTC().Format(time.RFC3339))
	case !trace.signatureChecked:
		// go-oidc refused the token before looking at keys: a bad header,
		// an algorithm outside signingAlgs, no signature at all.
		return fmt.Errorf("%w: %w", ErrSignature, err)
	case nbf != nil && nbf.After(o.cfg.Clock.Now()):
		return fmt.Errorf("%w: %w", ErrNotYet, err)
	default:
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
}

// stringClaim reads a claim that must be a string. Claim names are taken
// whole, not as paths: namespaced claims are URLs full of dots.
func stringClaim(claims map[string]any, name string) (string, error) {
	v, ok := claims[name]
	if !ok {
		return "", fmt.Errorf("claim %q missing", name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("claim %q is a %T, want a string", name, v)
	}
	return s, nil
}

// tracingKeySet records, for the verification under way, whether the
// signature check ran and how it ended. go-oidc flattens its errors into
// text; this keeps a bad signature apart from the claim checks that follow.
type tracingKeySet struct {
	oidc.KeySet
}

type verifyTraceKey struct{}

type verifyTrace struct {
	signatureChecked bool
	signatureErr     error
}

func (k *tracingKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.KeySet.VerifySignature(ctx, jwt)
	if t, ok := ctx.Value(verifyTraceKey{}).(*verifyTrace); ok {
		t.signatureChecked, t.signatureErr = true, err
	}
	return payload, err
}
