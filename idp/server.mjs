#!/usr/bin/env node
// A local OpenID provider shaped like Microsoft Entra ID, for tests and `zero-scim dev`.
//
// It is node-oidc-provider (OpenID Certified) with Entra's shape around it:
//
//   <base>/<tid>/v2.0                      one issuer per tenant (one Provider each), as in
//                                          Entra: iss = https://login.microsoftonline.com/<tid>/v2.0
//   <base>/organizations/v2.0              Entra's multi-tenant authority: its discovery
//                                          document names the issuer "<base>/{tenantid}/v2.0",
//                                          its authorize endpoint asks for the username first
//                                          (home-realm discovery) and sends the person on to
//                                          their tenant; its token endpoint serves the code
//                                          at the tenant that issued it
//   ID tokens                              RS256, claims oid, tid, preferred_username, email,
//                                          name, ver=2.0; sub pairwise per client
//   login form                             fields `login` and `password`
//
// Usage: node server.mjs --config FILE [--host 127.0.0.1] [--port 0] [--public-host localhost]
//                        [--tls-cert FILE --tls-key FILE]
// Prints `IDP_URL=<base>` once listening: http, or https with a certificate (for a relying
// party that is not on this host's loopback; it fetches its own token endpoint too, so
// NODE_EXTRA_CA_CERTS must name the certificate's CA). The config file (JSON):
//
//   { "adminToken": "...",
//     "tenants": [{ "id": "<guid>", "name": "Contoso" }, ...],
//     "users":   [{ "tenant": "<guid>", "oid": "<guid>", "login": "ada@contoso.example",
//                   "password": "...", "email": "...", "name": "..." }, ...],
//     "clients": [{ "client_id": "...", "client_secret": "...", "redirect_uris": ["..."] }] }
//
// An admin API (Authorization: Bearer <adminToken>) lets tests shape it at run time:
//   PUT    /_admin/users/<oid>   {tenant, login, password, email?, name?}  add or change a user
//   DELETE /_admin/users/<oid>
//   PUT    /_admin/clients/<id>  {client_secret, redirect_uris}            register a client
//   POST   /_admin/rotate-keys                                              new signing key
//   PUT    /_admin/tamper        {mode}   the next ID token issued is altered (see TAMPER);
//                                          what the OpenID RP certification tests do
//   DELETE /_admin/tamper
//   GET    /_admin/stats                                                    requests by path
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'public-host': { type: 'string', default: 'localhost' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
});
if (!args.config || !args['tls-cert'] !== !args['tls-key']) {
  process.stderr.write(
    'usage: node server.mjs --config FILE [--host H] [--port P] [--public-host N] ' +
      '[--tls-cert FILE --tls-key FILE]\n',
  );
  process.exit(2);
}
const scheme = args['tls-cert'] ? 'https' : 'http';
const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
const adminToken = process.env.IDP_ADMIN_TOKEN || config.adminToken;
if (!adminToken) {
  process.stderr.write('the config needs an adminToken (or set IDP_ADMIN_TOKEN)\n');
  process.exit(2);
}

const ORGANIZATIONS = 'organizations';
const SCOPES = ['openid', 'profile', 'email'];
const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'oid', 'tid', 'preferred_username', 'ver'],
  email: ['email'],
};
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// -- state ----------------------------------------------------------------------------------

const users = new Map(); // oid -> {tenant, oid, login, password, email, name}
const clients = new Map(); // client_id -> metadata
const tenants = new Map(); // tid -> {id, name, storage, provider}
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];
let signingKeys = []; // private JWKs, newest first
let tamper = null; // {mode}: applied to the next ID token, then cleared
const requestCounts = new Map(); // path -> requests served
let base = ''; // http(s)://<public-host>:<port>
let internal = ''; // http(s)://<host>:<port>, for the organizations token endpoint

function putUser(oid, body) {
  if (!GUID.test(oid)) throw new BadInput('oid must be a lower-case GUID');
  if (!tenants.has(body.tenant)) throw new BadInput(`unknown tenant ${body.tenant}`);
  for (const field of ['login', 'password']) {
    if (typeof body[field] !== 'string' || !body[field]) throw new BadInput(`${field} is required`);
  }
  const user = {
    tenant: body.tenant,
    oid,
    login: body.login,
    password: body.password,
    email: body.email || null,
    name: body.name || body.login,
  };
  users.set(oid, user);
  return user;
}

function findUser(tenantId, login) {
  const wanted = String(login || '').toLowerCase();
  for (const user of users.values()) {
    if (user.login.toLowerCase() === wanted && (tenantId === null || user.tenant === tenantId)) {
      return user;
    }
  }
  return null;
}

function putClient(clientId, body) {
  if (typeof body.client_secret !== 'string' || body.client_secret.length < 32) {
    throw new BadInput('client_secret must be at least 32 characters');
  }
  if (!Array.isArray(body.redirect_uris) || body.redirect_uris.length === 0) {
    throw new BadInput('redirect_uris is required');
  }
  const metadata = {
    client_id: clientId,
    client_secret: body.client_secret,
    redirect_uris: body.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
    subject_type: 'pairwise',
  };
  clients.set(clientId, metadata);
  return metadata;
}

async function newSigningKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

function publicJwks() {
  return {
    keys: signingKeys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  };
}

// -- storage: one namespace per tenant, so a code of one tenant is unknown to the others ----

function adapterFor(storage) {
  const live = (key) => {
    const entry = storage.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      storage.delete(key);
      return undefined;
    }
    return entry;
  };
  return class TenantAdapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : null;
      storage.set(this.key(id), { payload, expiresAt });
      if (this.model === 'Session') storage.set(`sessionUid:${payload.uid}`, { payload: id, expiresAt });
      if (payload.grantId) {
        const grant = live(`grant:${payload.grantId}`) || { payload: [], expiresAt };
        grant.payload.push(this.key(id));
        storage.set(`grant:${payload.grantId}`, grant);
      }
    }

    async find(id) {
      if (this.model === 'Client') return clients.get(id);
      return live(this.key(id))?.payload;
    }

    async findByUid(uid) {
      const id = live(`sessionUid:${uid}`)?.payload;
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode() {
      return undefined;
    }

    async consume(id) {
      const entry = live(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      storage.delete(this.key(id));
    }

    async revokeByGrantId(grantId) {
      for (const key of live(`grant:${grantId}`)?.payload || []) storage.delete(key);
      storage.delete(`grant:${grantId}`);
    }
  };
}

// -- tampering (for relying-party tests; never on by default) -------------------------------

const TAMPER = {
  // a valid token whose signature bytes no longer match
  'bad-signature': async (token) => {
    const [header, payload, signature] = token.split('.');
    const bytes = Buffer.from(signature, 'base64url');
    bytes[0] ^= 0xff;
    return [header, payload, bytes.toString('base64url')].join('.');
  },
  // the same claims, unsigned
  'alg-none': async (token, ctx) => {
    const header = { alg: 'none', typ: 'JWT', kid: signingKeys[0].kid };
    return `${b64json(header)}.${token.split('.')[1]}.`;
  },
  // the same claims, HMAC-signed with the client's secret (what an RP accepting HS256 checks)
  hs256: async (token, ctx) => {
    const secret = new TextEncoder().encode(ctx.oidc.client.clientSecret);
    return new jose.CompactSign(Buffer.from(token.split('.')[1], 'base64url'))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: signingKeys[0].kid })
      .sign(secret);
  },
  // re-signed with the real key after changing a claim
  'wrong-audience': (token) => resign(token, (claims) => ({ ...claims, aud: 'another-client' })),
  expired: (token) => resign(token, (claims) => {
    const now = Math.floor(Date.now() / 1000);
    return { ...claims, iat: now - 7200, exp: now - 3600 };
  }),
  'wrong-nonce': (token) => resign(token, (claims) => ({ ...claims, nonce: randomId() })),
  'issued-in-future': (token) => resign(token, (claims) => {
    const now = Math.floor(Date.now() / 1000);
    return { ...claims, iat: now + 3600, exp: now + 7200 };
  }),
  // tid of another tenant under this tenant's issuer
  'tid-mismatch': (token) => resign(token, (claims) => ({ ...claims, tid: otherTenant(claims.tid) })),
  // a well-formed RS256 token signed by a key the JWKS does not publish
  'unknown-key': async (token) => {
    const stranger = await newSigningKey();
    return new jose.CompactSign(Buffer.from(token.split('.')[1], 'base64url'))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: stranger.kid })
      .sign(await jose.importJWK(stranger, 'RS256'));
  },
};

async function resign(token, change) {
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  const key = signingKeys[0];
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(change(claims))))
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .sign(await jose.importJWK(key, 'RS256'));
}

function otherTenant(tid) {
  for (const id of tenants.keys()) if (id !== tid) return id;
  return randomGuid();
}

function b64json(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function randomId() {
  return crypto.randomBytes(16).toString('base64url');
}

function randomGuid() {
  return crypto.randomUUID();
}

async function tamperTokens(ctx, next) {
  await next();
  if (tamper && ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.id_token) {
    const { mode } = tamper;
    tamper = null;
    ctx.body = { ...ctx.body, id_token: await TAMPER[mode](ctx.body.id_token, ctx) };
  }
}

// -- the providers --------------------------------------------------------------------------

function buildProvider(tenant) {
  const short = tenant.id.slice(0, 8);
  const provider = new Provider(`${base}/${tenant.id}/v2.0`, {
    adapter: adapterFor(tenant.storage),
    jwks: { keys: signingKeys },
    async findAccount(ctx, id) {
      const user = users.get(id);
      if (!user || user.tenant !== tenant.id) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            oid: user.oid,
            tid: user.tenant,
            preferred_username: user.login,
            email: user.email || undefined,
            name: user.name,
            ver: '2.0',
          };
        },
      };
    },
    claims: CLAIMS,
    scopes: SCOPES,
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    clientAuthMethods: ['client_secret_post', 'client_secret_basic'],
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    subjectTypes: ['public', 'pairwise'],
    features: { devInteractions: { enabled: false } },
    cookies: {
      keys: cookieKeys,
      names: {
        session: `_session_${short}`,
        interaction: `_interaction_${short}`,
        resume: `_interaction_resume_${short}`,
      },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    interactions: { url: (ctx, interaction) => `/${tenant.id}/v2.0/interaction/${interaction.uid}` },
    // The tenant's admin consented for the organisation (the gallery model): no consent page.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(SCOPES.join(' '));
      await grant.save();
      return grant;
    },
    async pairwiseIdentifier(ctx, accountId, client) {
      return crypto.createHash('sha256').update(`${client.clientId}\0${accountId}`).digest('base64url');
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<h1>Sorry, we can't sign you in</h1>
        <p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
    },
    ttl: {
      AuthorizationCode: 300,
      IdToken: 3600,
      AccessToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  provider.use(tamperTokens);
  return provider;
}

function rebuildProviders() {
  for (const tenant of tenants.values()) tenant.provider = buildProvider(tenant);
}

// -- pages ----------------------------------------------------------------------------------

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${escape(title)}</title><meta name="viewport" content="width=device-width">
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.5rem}.error{color:#a4262c}.tenant{color:#605e5c}</style>
</head><body>${body}</body></html>`;
}

function loginPage(tenant, action, login, error) {
  return page('Sign in', `<h1>Sign in</h1><p class="tenant">${escape(tenant.name)}</p>
    ${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="${escape(action)}">
      <label for="login">Email, phone, or Skype</label>
      <input id="login" name="login" type="text" autocomplete="username" value="${escape(login || '')}" required>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
      <button type="submit">Sign in</button>
    </form>`);
}

function discoveryPage(query, login, error) {
  return page('Sign in', `<h1>Sign in</h1>
    ${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/${ORGANIZATIONS}/v2.0/authorize">
      <input type="hidden" name="query" value="${escape(query)}">
      <label for="login">Email, phone, or Skype</label>
      <input id="login" name="login" type="text" autocomplete="username" value="${escape(login || '')}" required autofocus>
      <button type="submit">Next</button>
    </form>`);
}

// -- HTTP -----------------------------------------------------------------------------------

class BadInput extends Error {}

function send(res, status, body, type = 'application/json') {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': `${type}; charset=utf-8`,
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}

function redirect(res, location) {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new BadInput('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req) {
  try {
    return JSON.parse((await readBody(req)) || '{}');
  } catch {
    throw new BadInput('body is not JSON');
  }
}

function authorised(req) {
  const header = req.headers.authorization || '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const wanted = Buffer.from(adminToken);
  return given.length === wanted.length && crypto.timingSafeEqual(given, wanted);
}

async function admin(req, res, path) {
  if (!authorised(req)) return send(res, 401, { error: 'unauthorized' });
  const [, , collection, id] = path.split('/');
  if (collection === 'users' && id && req.method === 'PUT') {
    const user = putUser(id, await readJson(req));
    return send(res, 200, { ...user, password: undefined });
  }
  if (collection === 'users' && id && req.method === 'DELETE') {
    return send(res, users.delete(id) ? 200 : 404, {});
  }
  if (collection === 'clients' && id && req.method === 'PUT') {
    putClient(id, await readJson(req));
    return send(res, 200, { client_id: id });
  }
  if (collection === 'rotate-keys' && req.method === 'POST') {
    signingKeys = [await newSigningKey(), ...signingKeys].slice(0, 3);
    rebuildProviders();
    return send(res, 200, { kids: signingKeys.map((k) => k.kid) });
  }
  if (collection === 'tamper' && req.method === 'PUT') {
    const { mode } = await readJson(req);
    if (!(mode in TAMPER)) throw new BadInput(`mode must be one of ${Object.keys(TAMPER).join(', ')}`);
    tamper = { mode };
    return send(res, 200, tamper);
  }
  if (collection === 'stats' && req.method === 'GET') {
    return send(res, 200, { requests: Object.fromEntries(requestCounts) });
  }
  if (collection === 'tamper' && req.method === 'DELETE') {
    tamper = null;
    return send(res, 200, {});
  }
  return send(res, 404, { error: 'not_found' });
}

// <base>/organizations/v2.0/...: Entra's multi-tenant authority.
async function organizations(req, res, rest) {
  if (rest === '/.well-known/openid-configuration' && req.method === 'GET') {
    return send(res, 200, {
      issuer: `${base}/{tenantid}/v2.0`,
      authorization_endpoint: `${base}/${ORGANIZATIONS}/v2.0/authorize`,
      token_endpoint: `${base}/${ORGANIZATIONS}/v2.0/token`,
      jwks_uri: `${base}/${ORGANIZATIONS}/v2.0/keys`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      scopes_supported: SCOPES,
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      claims_supported: [...new Set(Object.values(CLAIMS).flat()), 'iss', 'aud', 'exp', 'iat', 'nonce'],
    });
  }
  if (rest === '/keys' && req.method === 'GET') return send(res, 200, publicJwks());
  if (rest === '/authorize' && (req.method === 'GET' || req.method === 'POST')) {
    let query = new URL(req.url, base).search.slice(1);
    let login = new URLSearchParams(query).get('login_hint');
    let error = null;
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      query = form.get('query') || '';
      login = form.get('login');
      error = 'We couldn\'t find an account with that username.';
    }
    const user = login ? findUser(null, login) : null;
    if (!user) return send(res, 200, discoveryPage(query, login, login ? error : null), 'text/html');
    const params = new URLSearchParams(query);
    params.set('login_hint', user.login);
    return redirect(res, `${base}/${user.tenant}/v2.0/auth?${params}`);
  }
  if (rest === '/token' && req.method === 'POST') {
    const body = await readBody(req);
    const code = new URLSearchParams(body).get('code') || '';
    const tenant = [...tenants.values()].find((t) => t.storage.has(`AuthorizationCode:${code}`));
    if (!tenant) {
      return send(res, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
    }
    const forwarded = await fetch(`${internal}/${tenant.id}/v2.0/token`, {
      method: 'POST',
      headers: Object.fromEntries(
        ['content-type', 'authorization'].filter((h) => req.headers[h]).map((h) => [h, req.headers[h]]),
      ),
      body,
    });
    return send(res, forwarded.status, await forwarded.text(), 'application/json');
  }
  return send(res, 404, { error: 'not_found' });
}

// <base>/<tid>/v2.0/interaction/<uid>[/login]: the tenant's sign-in form.
async function interaction(req, res, tenant) {
  const { provider } = tenant;
  const details = await provider.interactionDetails(req, res);
  const action = `/${tenant.id}/v2.0/interaction/${details.uid}/login`;
  if (details.prompt.name !== 'login') {
    // Consent is pre-granted (loadExistingGrant); nothing else is asked of a person.
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(SCOPES.join(' '));
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
      mergeWithLastSubmission: true,
    });
  }
  if (req.method === 'GET') {
    return send(res, 200, loginPage(tenant, action, details.params.login_hint), 'text/html');
  }
  const form = new URLSearchParams(await readBody(req));
  const user = findUser(tenant.id, form.get('login'));
  const password = Buffer.from(form.get('password') || '');
  const ok = user !== null
    && password.length === Buffer.byteLength(user.password)
    && crypto.timingSafeEqual(password, Buffer.from(user.password));
  if (!ok) {
    const message = 'Your account or password is incorrect.';
    return send(res, 200, loginPage(tenant, action, form.get('login'), message), 'text/html');
  }
  return provider.interactionFinished(req, res, { login: { accountId: user.oid } }, {
    mergeWithLastSubmission: false,
  });
}

async function handle(req, res) {
  const { pathname } = new URL(req.url, base);
  if (pathname === '/healthz') return send(res, 200, { status: 'ok' });
  if (pathname.startsWith('/_admin/')) return admin(req, res, pathname);
  requestCounts.set(pathname, (requestCounts.get(pathname) || 0) + 1);
  const [, first, version, ...rest] = pathname.split('/');
  if (version !== 'v2.0') return send(res, 404, { error: 'not_found' });
  const prefix = `/${first}/v2.0`;
  const tail = pathname.slice(prefix.length);
  if (first === ORGANIZATIONS) return organizations(req, res, tail);
  const tenant = tenants.get(first);
  if (!tenant) return send(res, 404, { error: 'unknown_tenant' });
  if (rest[0] === 'interaction') return interaction(req, res, tenant);
  // Mount the tenant's provider at its issuer path (oidc-provider reads originalUrl).
  req.originalUrl = req.url;
  req.url = req.url.slice(prefix.length) || '/';
  return tenant.provider.callback()(req, res);
}

async function main() {
  signingKeys = [await newSigningKey()];
  for (const { id, name } of config.tenants || []) {
    if (!GUID.test(id)) throw new Error(`tenant id ${id} is not a lower-case GUID`);
    tenants.set(id, { id, name: name || id, storage: new Map(), provider: null });
  }
  for (const user of config.users || []) putUser(user.oid, user);
  for (const client of config.clients || []) putClient(client.client_id, client);

  const serve = (req, res) => {
    handle(req, res).catch((error) => {
      if (res.headersSent) return res.end();
      if (error instanceof BadInput) return send(res, 400, { error: 'bad_request', message: error.message });
      process.stderr.write(`${error.stack || error}\n`);
      return send(res, 500, { error: 'server_error' });
    });
  };
  const server =
    scheme === 'https'
      ? https.createServer(
          { cert: fs.readFileSync(args['tls-cert']), key: fs.readFileSync(args['tls-key']) },
          serve,
        )
      : http.createServer(serve);
  server.listen(Number(args.port), args.host, () => {
    const { port } = server.address();
    base = `${scheme}://${args['public-host']}:${port}`;
    internal = `${scheme}://${args.host.includes(':') ? `[${args.host}]` : args.host}:${port}`;
    rebuildProviders();
    process.stdout.write(`IDP_URL=${base}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
