/**
 * The OAuth side of the server as an independent implementation sees it: oauth4webapi, a client
 * library written to the RFCs, speaks to the app over a real socket as a client and validates its
 * tokens as a resource server would (RFC 9068), fetching the keys from the advertised `jwks_uri`.
 * Nothing here goes through the server's own verification code except the API calls made with the
 * tokens, so a token or metadata document that only this server's code understands fails here.
 *
 * - Discovery (RFC 8414): the library finds the metadata at the issuer's well-known path and
 *   accepts it only when its `issuer` is the one it asked about; the app has no public URL, so the
 *   issuer is the origin the request was sent to.
 * - The client credentials grant with `client_secret_basic` and `client_secret_post`, the full set
 *   of scopes and a narrowed one, and the API answering the token (a `read` token cannot write).
 * - The token validates as RFC 9068 says, against the JWK set (RFC 7517), before and after a key
 *   rotation; one with its payload altered, or meant for another audience, does not.
 */
import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import { ADMIN_TOKEN, createTestApp, type TestAccount, type TestApp } from '../helpers/app.js';
import { listen, sendJson, type Listening } from '../helpers/http-server.js';

/** The defaults of createApp: a token lasts ten minutes. */
const TOKEN_TTL_S = 600;
/** JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4): none may be published. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

interface SentRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** oauth4webapi's transport with every request it sends written down, to show which client authentication went on the wire. */
function recordingFetch(sent: SentRequest[]): typeof fetch {
  return (async (url: string, options: oauth.CustomFetchOptions<string, URLSearchParams | undefined>) => {
    sent.push({ url, headers: { ...options.headers }, body: options.body?.toString() ?? '' });
    return fetch(url, options);
  }) as unknown as typeof fetch;
}

/** The payload of a compact JWS, decoded without checking anything. */
function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A request to the API as a resource server receives it, carrying the token. */
function resourceRequest(issuer: string, token: string): Request {
  return new Request(`${issuer}/v1/customers`, { headers: { authorization: `Bearer ${token}` } });
}

describe('OAuth interoperability: oauth4webapi against the running server', () => {
  let t: TestApp;
  let server: Listening;
  let account: TestAccount;
  let issuer: string;
  let client: oauth.Client;
  let clientSecret: string;
  let as: oauth.AuthorizationServer;

  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  async function discover(expected = issuer): Promise<oauth.AuthorizationServer> {
    const response = await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure });
    return oauth.processDiscoveryResponse(new URL(expected), response);
  }

  async function grant(auth: oauth.ClientAuth, parameters: Record<string, string> = {}, sent: SentRequest[] = []): Promise<oauth.TokenEndpointResponse> {
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, { ...insecure, [oauth.customFetch]: recordingFetch(sent) });
    return oauth.processClientCredentialsResponse(as, client, response);
  }

  /**
   * RFC 9068 validation as a resource server does it; a copy of the metadata each time, because
   * oauth4webapi caches the JWK set per metadata object and would not fetch it again for a minute.
   */
  function validate(token: string, audience = issuer): Promise<oauth.JWTAccessTokenClaims> {
    return oauth.validateJwtAccessToken({ ...as }, resourceRequest(issuer, token), audience, { ...insecure, signingAlgorithms: ['ES256'] });
  }

  before(async () => {
    // No publicUrl: the issuer is the origin the requests are sent to, this listener's.
    t = await createTestApp();
    server = await listen(t.app);
    issuer = server.url;
    account = await t.createAccount('OAuth interop');
    const created = await sendJson(`${issuer}/v1/oauth_clients`, { secret: account.secret, body: { name: 'interop', scopes: ['read', 'write'] } });
    if (created.status !== 201) throw new Error(`OAuth client creation failed: ${created.status} ${JSON.stringify(created.body)}`);
    client = { client_id: created.body.id };
    clientSecret = created.body.client_secret;
    as = await discover();
  });
  after(async () => {
    await server?.close();
    await t?.close();
  });

  describe('discovery (RFC 8414)', () => {
    it('is accepted by the library, with the issuer it was asked about and the endpoints a client credentials client needs', async () => {
      const metadata = await discover();
      expect(metadata.issuer).to.equal(issuer);
      expect(metadata.token_endpoint).to.equal(`${issuer}/oauth/token`);
      expect(metadata.jwks_uri).to.equal(`${issuer}/.well-known/jwks.json`);
      expect(metadata.grant_types_supported).to.include('client_credentials');
      expect(metadata.token_endpoint_auth_methods_supported).to.include.members(['client_secret_basic', 'client_secret_post']);
    });

    it('is refused by the library when the issuer is not the one it asked about', async () => {
      // The same server under another name: metadata naming 127.0.0.1 is not metadata for localhost.
      const elsewhere = issuer.replace('127.0.0.1', 'localhost');
      const response = await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure });
      const err = await oauth.processDiscoveryResponse(new URL(elsewhere), response).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(oauth.OperationProcessingError);
      expect((err as oauth.OperationProcessingError).code).to.equal(oauth.JSON_ATTRIBUTE_COMPARISON);
    });
  });

  describe('the client credentials grant', () => {
    it('issues a token to client_secret_basic that the library accepts and the API answers', async () => {
      const sent: SentRequest[] = [];
      const tokens = await grant(oauth.ClientSecretBasic(clientSecret), {}, sent);

      // The library authenticated with HTTP Basic, and nothing secret went in the body.
      expect(sent).to.have.length(1);
      expect(sent[0]!.url).to.equal(`${issuer}/oauth/token`);
      expect(sent[0]!.headers.authorization).to.match(/^Basic /);
      expect(new URLSearchParams(sent[0]!.body).has('client_secret')).to.equal(false);

      expect(tokens.token_type).to.equal('bearer');
      expect(tokens.expires_in).to.equal(TOKEN_TTL_S);
      expect(tokens.scope).to.equal('read write');
      const res = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${issuer}/v1/customers`), undefined, undefined, insecure);
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { object: string }).object).to.equal('list');
    });

    it('issues a narrowed token to client_secret_post: `read` reads and cannot write', async () => {
      const sent: SentRequest[] = [];
      const tokens = await grant(oauth.ClientSecretPost(clientSecret), { scope: 'read' }, sent);

      expect(sent).to.have.length(1);
      expect(sent[0]!.headers.authorization).to.equal(undefined);
      const form = new URLSearchParams(sent[0]!.body);
      expect(form.get('client_id')).to.equal(client.client_id);
      expect(form.get('client_secret')).to.equal(clientSecret);
      expect(form.get('grant_type')).to.equal('client_credentials');

      expect(tokens.scope).to.equal('read');
      expect((await validate(tokens.access_token)).scope).to.equal('read');
      const read = await sendJson(`${issuer}/v1/customers`, { method: 'GET', secret: tokens.access_token });
      expect(read.status).to.equal(200);
      const write = await sendJson(`${issuer}/v1/customers`, { secret: tokens.access_token, body: { email: 'narrow@example.com' } });
      expect(write.status).to.equal(403);
      expect(write.body.code).to.equal('insufficient_scope');
    });

    it('refuses a wrong secret sent with HTTP Basic with a Basic challenge (RFC 6749 §5.2), which the library surfaces', async () => {
      const err = await grant(oauth.ClientSecretBasic(`${clientSecret}x`)).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(oauth.WWWAuthenticateChallengeError);
      const challenge = err as oauth.WWWAuthenticateChallengeError;
      expect(challenge.status).to.equal(401);
      expect(challenge.cause.map((c) => c.scheme)).to.deep.equal(['basic']);
      expect(((await challenge.response.json()) as { error: string }).error).to.equal('invalid_client');
    });

    it('refuses a wrong secret sent in the body with an invalid_client error body', async () => {
      const err = await grant(oauth.ClientSecretPost(`${clientSecret}x`)).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(oauth.ResponseBodyError);
      expect((err as oauth.ResponseBodyError).status).to.equal(401);
      expect((err as oauth.ResponseBodyError).error).to.equal('invalid_client');
    });
  });

  describe('the access token (RFC 9068) and the key set (RFC 7517)', () => {
    it('validates as a JWT access token against the published keys, with the claims of the profile', async () => {
      const before = Math.floor(Date.now() / 1000);
      const tokens = await grant(oauth.ClientSecretBasic(clientSecret));
      const claims = await validate(tokens.access_token);

      expect(claims.iss).to.equal(issuer);
      expect(claims.aud).to.equal(issuer);
      expect(claims.sub).to.equal(client.client_id);
      expect(claims.client_id).to.equal(client.client_id);
      expect(claims.scope).to.equal('read write');
      expect(claims.remit_account).to.equal(account.id);
      expect(claims.iat).to.be.within(before - 1, before + 5);
      expect(claims.exp - claims.iat).to.equal(TOKEN_TTL_S);
      expect(claims.jti).to.be.a('string').and.not.equal('');
      // Each token is its own: a second one has another jti.
      expect((await validate((await grant(oauth.ClientSecretBasic(clientSecret))).access_token)).jti).to.not.equal(claims.jti);
    });

    it('refuses a token whose payload was altered, and so does the API', async () => {
      const { access_token: token } = await grant(oauth.ClientSecretBasic(clientSecret), { scope: 'read' });
      const [header, , signature] = token.split('.');
      const widened = Buffer.from(JSON.stringify({ ...payloadOf(token), scope: 'read write' })).toString('base64url');
      const tampered = `${header}.${widened}.${signature}`;

      const err = await validate(tampered).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(oauth.OperationProcessingError);
      expect((err as Error).message).to.match(/signature verification failed/);
      const res = await sendJson(`${issuer}/v1/customers`, { secret: tampered, body: { email: 'tampered@example.com' } });
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
      // The untouched token still validates: only the alteration was refused.
      expect((await validate(token)).scope).to.equal('read');
    });

    it('refuses a token presented to a resource server with another audience', async () => {
      const { access_token: token } = await grant(oauth.ClientSecretBasic(clientSecret));
      const err = await validate(token, 'https://api.elsewhere.example').then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(oauth.OperationProcessingError);
      expect((err as oauth.OperationProcessingError).code).to.equal(oauth.JWT_CLAIM_COMPARISON);
    });

    it('publishes only public ES256 signing keys with unique kids, and keeps the previous key across a rotation', async () => {
      const { access_token: earlier } = await grant(oauth.ClientSecretBasic(clientSecret));
      const rotated = await sendJson(`${issuer}/admin/signing_keys`, { secret: ADMIN_TOKEN, body: {} });
      expect(rotated.status).to.equal(201);
      const { access_token: later } = await grant(oauth.ClientSecretBasic(clientSecret));

      const res = await fetch(as.jwks_uri!);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/(jwk-set\+)?json/);
      const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
      expect(keys.length).to.be.at.least(2);
      for (const key of keys) {
        expect(key).to.include({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256' });
        // P-256 coordinates are 32 bytes each, base64url without padding (RFC 7518 §6.2.1).
        expect(key.x).to.be.a('string').and.match(/^[A-Za-z0-9_-]{43}$/);
        expect(key.y).to.be.a('string').and.match(/^[A-Za-z0-9_-]{43}$/);
        expect(key.kid).to.be.a('string').and.not.equal('');
        for (const member of PRIVATE_MEMBERS) expect(key, `published key ${String(key.kid)} has "${member}"`).to.not.have.property(member);
      }
      const kids = keys.map((k) => k.kid);
      expect(new Set(kids).size).to.equal(kids.length);

      // The tokens name different keys, both published; each validates against the set.
      const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
      expect(kidOf(later)).to.equal(rotated.body.kid).and.not.equal(kidOf(earlier));
      expect(kids).to.include.members([kidOf(earlier), kidOf(later)]);
      expect((await validate(earlier)).client_id).to.equal(client.client_id);
      expect((await validate(later)).client_id).to.equal(client.client_id);
    });
  });
});
