// tests/oidc/provider.js - the OpenID providers Medrin's sign-in tests talk to
// (tests/api/test_oidc.py), on loopback only:
//
//   real: npm's oidc-provider (a certified OpenID Provider), with one confidential test
//         client (client_secret_basic, PKCE S256 required) and its own login and consent
//         pages (devInteractions). Any login name is an account: "v:ada@example.com"
//         has email ada@example.com, verified; "u:ada@example.com" the same, unverified.
//         POST /_control/rotate makes a new signing key (new kid; the old one stays
//         published); GET /_control/stats counts JWKS and discovery requests.
//   fake: a tiny provider of our own that serves discovery (client_secret_post only),
//         JWKS and a token endpoint returning crafted ID tokens: POST /_control/next
//         {"mode", "nonce", "code_challenge", "sub", "email", "email_verified"} says what
//         the next token request gets (mode: ok, expired, wrong_aud, wrong_iss, other_key,
//         alg_none, hs256_pubkey, wrong_nonce, wrong_azp); GET /_control/last returns the
//         last token request's form fields.
//
// Usage: node provider.js CLIENT_ID CLIENT_SECRET REDIRECT_URI_REAL REDIRECT_URI_FAKE
// Prints one JSON line {"real": port, "fake": port} when both listen; exits on stdin EOF.
import { createServer } from 'node:http';
import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectReal, redirectFake] = process.argv.slice(2);
if (!redirectFake) {
  console.error('usage: node provider.js CLIENT_ID CLIENT_SECRET REDIRECT_REAL REDIRECT_FAKE');
  process.exit(2);
}

function newKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    kid, privateKey, publicKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
  };
}

function listen(handler) {
  return new Promise((resolve) => {
    const server = createServer((req, res) => handler(req, res));
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function json(res, status, obj) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(obj));
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

// ---------------------------------------------------------------- the real provider

let realHandler = null;
const stats = { jwks: 0, discovery: 0 };
const keys = [newKey('k1')];
const realPort = await listen(async (req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/_control/rotate' && req.method === 'POST') {
    keys.unshift(newKey(`k${keys.length + 1}`));
    realHandler = makeReal();
    json(res, 200, { kid: keys[0].kid });
    return;
  }
  if (path === '/_control/stats') {
    json(res, 200, { ...stats, kid: keys[0].kid });
    return;
  }
  if (path === '/jwks') stats.jwks += 1;
  if (path === '/.well-known/openid-configuration') stats.discovery += 1;
  realHandler(req, res);
});
const realIssuer = `http://127.0.0.1:${realPort}`;

function account(id) {
  const m = /^([uv]):(.+)$/.exec(id);
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: m ? m[2] : undefined,
        email_verified: m ? m[1] === 'v' : false,
        given_name: 'Test',
        family_name: 'User',
      };
    },
  };
}

function makeReal() {
  // The memory adapter's storage is shared by every instance of this process, so a new
  // instance (after a rotation) still knows the interactions, sessions and codes.
  const provider = new Provider(realIssuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectReal],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: keys.map((k) => k.jwk) },
    pkce: { required: () => true, methods: ['S256'] },
    claims: {
      openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'],
    },
    findAccount: async (ctx, id) => account(id),
    cookies: { keys: ['medrin-test-provider-cookie-key'] },
    features: { devInteractions: { enabled: true } },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    // Like Google: the ID token itself carries the scopes' claims (email, email_verified).
    conformIdTokenClaims: false,
  });
  return provider.callback();
}
realHandler = makeReal();

// ---------------------------------------------------------------- the fake provider

const fakeKey = newKey('f1');
const otherKey = newKey('f1'); // same kid, not published: "signed by another key"
let next = null;
let last = null;
const fakePort = await listen(async (req, res) => {
  const path = req.url.split('?')[0];
  const issuer = `http://127.0.0.1:${fakePort}`;
  if (path === '/.well-known/openid-configuration') {
    json(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post'],
      code_challenge_methods_supported: ['S256'],
    });
    return;
  }
  if (path === '/jwks') {
    const { kty, n, e } = fakeKey.jwk;
    json(res, 200, { keys: [{ kty, n, e, kid: 'f1', alg: 'RS256', use: 'sig' }] });
    return;
  }
  if (path === '/_control/next' && req.method === 'POST') {
    next = JSON.parse(await readBody(req));
    json(res, 200, { ok: true });
    return;
  }
  if (path === '/_control/last') {
    json(res, 200, last || {});
    return;
  }
  if (path === '/token' && req.method === 'POST') {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    last = { ...form, authorization: req.headers.authorization || null };
    const plan = next;
    next = null;
    if (!plan || form.grant_type !== 'authorization_code' || form.client_id !== clientId ||
        form.client_secret !== clientSecret || form.redirect_uri !== redirectFake) {
      json(res, 400, { error: 'invalid_grant' });
      return;
    }
    const challenge = createHash('sha256').update(form.code_verifier || '').digest('base64url');
    if (challenge !== plan.code_challenge) {
      json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: plan.sub,
      aud: clientId,
      exp: now + 300,
      iat: now,
      nonce: plan.nonce,
      email: plan.email,
      email_verified: plan.email_verified !== false,
    };
    const header = { alg: 'RS256', kid: 'f1', typ: 'JWT' };
    let key = fakeKey;
    switch (plan.mode) {
      case 'expired': claims.exp = now - 3600; claims.iat = now - 4000; break;
      case 'wrong_aud': claims.aud = 'someone-else'; break;
      case 'wrong_azp': claims.aud = [clientId, 'someone-else']; claims.azp = 'someone-else'; break;
      case 'wrong_iss': claims.iss = `${issuer}/other`; break;
      case 'other_key': key = otherKey; break;
      case 'alg_none': header.alg = 'none'; break;
      case 'hs256_pubkey': header.alg = 'HS256'; break;
      case 'wrong_nonce': claims.nonce = 'not-the-nonce'; break;
      default: break;
    }
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    let sig = '';
    if (header.alg === 'RS256') {
      sig = b64u(sign('sha256', Buffer.from(input), key.privateKey));
    } else if (header.alg === 'HS256') {
      // The classic confusion attack: HMAC keyed with the provider's public key.
      const pem = fakeKey.publicKey.export({ type: 'spki', format: 'pem' });
      sig = b64u(createHmac('sha256', pem).update(input).digest());
    }
    json(res, 200, {
      access_token: 'fake-access', token_type: 'Bearer', expires_in: 300, id_token: `${input}.${sig}`,
    });
    return;
  }
  json(res, 404, { error: 'not_found' });
});

process.stdout.write(`${JSON.stringify({ real: realPort, fake: fakePort })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
