// A real OpenID provider (node-oidc-provider) for the tests of adapters/auth.
//
//   node server.mjs [port]
//
// Listens on 127.0.0.1:<port> (0 or nothing: any free port), issuer
// http://127.0.0.1:<port>, and prints "ready <issuer>" once it accepts
// requests. Each start generates fresh signing keys, so two instances never
// trust each other's tokens.
//
// Tokens come from the client_credentials grant: POST <issuer>/token with
// HTTP Basic client_id:secret and optionally resource=<audience>. The access
// token is a JWT (RFC 9068) whose aud is the resource, whose role and sub come
// from the client below, signed with the client's algorithm.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';

const defaultResource = 'urn:lifesituations:api';

// One client per case the tests need; the secret of each is "secret".
const clients = [
  { id: 'citizen', role: 'citizen', subject: '7b0e3c52-4d4f-4b8e-9a39-0f4b1c2d3e4f', alg: 'RS256' },
  { id: 'registry', role: 'registry', subject: 'urn:registry:civil-status', alg: 'ES256' },
  { id: 'agency', role: 'agency', subject: 'agency-official-17', alg: 'PS256' },
  { id: 'auditor', role: 'auditor', subject: 'auditor-3', alg: 'RS256' },
  { id: 'operator', role: 'operator', subject: 'operator-1', alg: 'ES256' },
  { id: 'superuser', role: 'superuser', subject: 'mallory', alg: 'RS256' },
  { id: 'roleless', subject: 'nobody', alg: 'RS256' },
];

function signingKeys() {
  const jwk = (type, options) => ({
    ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
    kid: randomUUID(),
    use: 'sig',
  });
  return { keys: [jwk('rsa', { modulusLength: 2048 }), jwk('ec', { namedCurve: 'P-256' })] };
}

const byId = new Map(clients.map((c) => [c.id, c]));
const clientOf = (ctx) => byId.get(ctx.oidc.client.clientId);

function configuration() {
  return {
    jwks: signingKeys(),
    clients: clients.map((c) => ({
      client_id: c.id,
      client_secret: 'secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => defaultResource,
        // Any resource is accepted, so tests can ask for a foreign audience.
        getResourceServerInfo: async (ctx, resource) => ({
          scope: 'api',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: clientOf(ctx).alg } },
        }),
      },
    },
    extraTokenClaims: async (ctx) => {
      const { role } = clientOf(ctx);
      return role === undefined ? undefined : { role };
    },
    formats: {
      customizers: {
        // The JWT format sets sub to the client_id for client_credentials
        // tokens, after extraTokenClaims; only a customizer can change it.
        jwt: async (ctx, token, jwt) => {
          jwt.payload.sub = clientOf(ctx).subject;
        },
      },
    },
    ttl: {
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
    },
  };
}

const server = createServer();
// Each stage of the start is noted on stderr, so a start that stalls says
// where (the Go test prints stderr when the provider is not ready in time).
const stage = (what) => process.stderr.write(`server.mjs: ${what}\n`);
stage('oidc-provider imported');
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  stage(`listening at ${issuer}`);
  const config = configuration();
  stage('signing keys generated');
  const provider = new Provider(issuer, config);
  server.on('request', provider.callback());
  console.log(`ready ${issuer}`);
});
