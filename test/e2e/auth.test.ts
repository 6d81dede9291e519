import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ROOT, type RunningServer, startServer, tempDir } from '../helpers/server.js';

const MAIN = path.join(ROOT, 'dist/server/main.js');
const FULL = 'full-key-5c1f0b8e';
const READ = 'read-key-9a7d2e41';
const WRONG = 'wrong-key-00000000';
/** Same length as FULL, one character off: rejected like any other wrong key. */
const NEAR = `${FULL.slice(0, -1)}f`;

function runWith(env: Record<string, string>, args: string[] = []) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { ...process.env, STRATA_DATA_DIR: tempDir(), STRATA_PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

const VECTOR = [0.1, 0.2, 0.3, 0.4];

/**
 * How to call each route of the OpenAPI document with a valid request, and whether it is a write. The table is
 * the documented auth matrix (README, "API keys"): a route missing here fails the test, so a new route must
 * say which kind it is.
 */
const ROUTES: Record<
  string,
  {
    kind: 'open' | 'read' | 'write';
    body?: unknown;
    /** Appended to the path (a query string). */
    query?: string;
    fresh?: boolean;
    snapshot?: 'name' | 'location' | 'upload';
  }
> = {
  'GET /': { kind: 'read' },
  'GET /healthz': { kind: 'open' },
  'GET /readyz': { kind: 'open' },
  'GET /metrics': { kind: 'read' },
  'GET /collections': { kind: 'read' },
  'PUT /collections/{collection_name}': {
    kind: 'write',
    fresh: true,
    body: { vectors: { size: 4, distance: 'Cosine' } },
  },
  'GET /collections/{collection_name}': { kind: 'read' },
  'DELETE /collections/{collection_name}': { kind: 'write' },
  'GET /collections/{collection_name}/exists': { kind: 'read' },
  'PUT /collections/{collection_name}/index': { kind: 'write', body: { field_name: 'price', field_schema: 'float' } },
  'DELETE /collections/{collection_name}/index/{field_name}': { kind: 'write' },
  'PUT /collections/{collection_name}/points': {
    kind: 'write',
    body: { points: [{ id: 10, vector: VECTOR, payload: { city: 'Oslo' } }] },
  },
  'POST /collections/{collection_name}/points': { kind: 'read', body: { ids: [1, 2] } },
  'GET /collections/{collection_name}/points/{id}': { kind: 'read' },
  'POST /collections/{collection_name}/points/delete': { kind: 'write', body: { points: [1] } },
  'POST /collections/{collection_name}/points/payload': { kind: 'write', body: { payload: { a: 1 }, points: [1] } },
  'PUT /collections/{collection_name}/points/payload': { kind: 'write', body: { payload: { a: 1 }, points: [1] } },
  'POST /collections/{collection_name}/points/payload/delete': { kind: 'write', body: { keys: ['city'], points: [1] } },
  'POST /collections/{collection_name}/points/payload/clear': { kind: 'write', body: { points: [1] } },
  'POST /collections/{collection_name}/points/scroll': { kind: 'read', body: { limit: 2 } },
  'POST /collections/{collection_name}/points/count': { kind: 'read', body: {} },
  'POST /collections/{collection_name}/points/search': { kind: 'read', body: { vector: VECTOR, limit: 2 } },
  'POST /collections/{collection_name}/points/search/batch': {
    kind: 'read',
    body: { searches: [{ vector: VECTOR, limit: 2 }] },
  },
  'POST /collections/{collection_name}/points/query': { kind: 'read', body: { query: VECTOR, limit: 2 } },
  'POST /collections/{collection_name}/points/query/batch': {
    kind: 'read',
    body: { searches: [{ query: VECTOR, limit: 2 }] },
  },
  'POST /collections/{collection_name}/snapshots': { kind: 'write' },
  'GET /collections/{collection_name}/snapshots': { kind: 'read' },
  'GET /collections/{collection_name}/snapshots/{snapshot_name}': { kind: 'read', snapshot: 'name' },
  'DELETE /collections/{collection_name}/snapshots/{snapshot_name}': { kind: 'write', snapshot: 'name' },
  'PUT /collections/{collection_name}/snapshots/recover': { kind: 'write', snapshot: 'location' },
  'POST /collections/{collection_name}/snapshots/upload': { kind: 'write', snapshot: 'upload' },
  'PATCH /collections/{collection_name}': { kind: 'write', body: { hubness: { beta_q: 10 } } },
  'PUT /collections/{collection_name}/banks/query': { kind: 'write', body: { vectors: [VECTOR] } },
  'PUT /collections/{collection_name}/banks/gallery': { kind: 'write', body: { sample: 2 } },
  'GET /collections/{collection_name}/banks/{side}': { kind: 'read' },
  'GET /collections/{collection_name}/hubness': { kind: 'read' },
  'GET /collections/{collection_name}/partitioning': { kind: 'read' },
  'POST /collections/{collection_name}/partitioning': {
    kind: 'write',
    query: '?wait=true',
    body: { workload: [{ filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] } }], min_leaf_points: 1 },
  },
};

/** Expected status per credential: no key, wrong key, read-only key, full key. */
const EXPECTED = { open: [200, 200, 200, 200], read: [401, 401, 200, 200], write: [401, 401, 403, 200] } as const;
const CREDENTIALS: [string, Record<string, string>][] = [
  ['no key', {}],
  ['wrong key', { 'api-key': WRONG }],
  ['read-only key', { 'api-key': READ }],
  ['full key', { authorization: `Bearer ${FULL}` }],
];

async function seed(url: string, name: string): Promise<void> {
  const key = { 'api-key': FULL };
  expect(
    (await api(url, 'PUT', `/collections/${name}`, { vectors: { size: 4, distance: 'Cosine' } }, key)).status,
  ).toBe(200);
  expect(
    (await api(url, 'PUT', `/collections/${name}/index`, { field_name: 'city', field_schema: 'keyword' }, key)).status,
  ).toBe(200);
  const points = [1, 2, 3].map((id) => ({ id, vector: VECTOR.map((v) => v * id), payload: { city: 'Berlin', id } }));
  expect((await api(url, 'PUT', `/collections/${name}/points`, { points }, key)).status).toBe(200);
}

/** A snapshot of a seeded collection, with its archive's bytes (for the snapshot routes). */
async function makeSnapshot(url: string, name: string): Promise<{ name: string; bytes: Uint8Array }> {
  const key = { 'api-key': FULL };
  const created = await api(url, 'POST', `/collections/${name}/snapshots`, undefined, key);
  expect(created.status).toBe(200);
  const res = await fetch(`${url}/collections/${name}/snapshots/${created.body.result.name}`, { headers: key });
  return { name: created.body.result.name, bytes: new Uint8Array(await res.arrayBuffer()) };
}

async function upload(url: string, bytes: Uint8Array, headers: Record<string, string>) {
  const form = new FormData();
  form.append('snapshot', new Blob([bytes]), 'upload.snapshot');
  const res = await fetch(url, { method: 'POST', body: form, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) };
}

describe('API keys', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { STRATA_API_KEY: FULL, STRATA_READ_ONLY_API_KEY: READ } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('every route of openapi.json × {no key, wrong key, read-only key, full key} gives the documented status', async () => {
    const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'openapi/openapi.json'), 'utf8'));
    const operations = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => [m.toUpperCase(), p] as const),
    );
    const listed = operations.map(([m, p]) => `${m} ${p}`);
    expect(listed.filter((r) => !(r in ROUTES))).toEqual([]);
    expect(listed).toContain('GET /metrics');
    const seen: string[] = [];
    let n = 0;
    for (const [method, template] of operations) {
      const route = ROUTES[`${method} ${template}`]!;
      const name = `matrix_${n++}`;
      if (template.includes('{collection_name}') && !route.fresh) await seed(server.url, name);
      const snapshot = route.snapshot ? await makeSnapshot(server.url, name) : null;
      const url = template
        .replace('{collection_name}', name)
        .replace('{field_name}', 'city')
        .replace('{id}', '1')
        .replace('{snapshot_name}', snapshot?.name ?? '')
        .replace('{side}', 'query')
        .concat(route.query ?? '');
      const body = route.snapshot === 'location' ? { location: snapshot!.name } : route.body;
      const statuses: number[] = [];
      for (const [label, headers] of CREDENTIALS) {
        const res =
          route.snapshot === 'upload'
            ? await upload(`${server.url}${url}`, snapshot!.bytes, headers)
            : await api(server.url, method, url, body, headers);
        statuses.push(res.status);
        if (res.status === 401) {
          expect(res.headers.get('www-authenticate'), `${method} ${url} ${label}`).toMatch(/^Bearer /);
          expect(res.body.status.code).toBe('STRATA_ERR_UNAUTHORIZED');
        }
        if (res.status === 403) expect(res.body.status.code).toBe('STRATA_ERR_FORBIDDEN');
      }
      // The full-key call succeeding also shows that the refused calls changed nothing: the create did not
      // find the collection, the deletes still found what they delete.
      expect({ route: `${method} ${template}`, statuses }).toEqual({
        route: `${method} ${template}`,
        statuses: [...EXPECTED[route.kind]],
      });
      seen.push(`${method} ${template}`);
    }
    expect(seen).toHaveLength(Object.keys(ROUTES).length);
  });

  it('routes outside the OpenAPI document need a key too; an unknown route is 401 without one, 404 with one', async () => {
    for (const route of ['/openapi.json', '/docs']) {
      expect((await api(server.url, 'GET', route)).status).toBe(401);
      expect((await api(server.url, 'GET', route, undefined, { 'api-key': READ })).status).toBe(200);
    }
    expect((await api(server.url, 'POST', '/nope', {})).status).toBe(401);
    const unknown = await api(server.url, 'POST', '/nope', {}, { 'api-key': READ });
    expect(unknown.status).toBe(404);
    expect(unknown.body.status.code).toBe('STRATA_ERR_ROUTE_NOT_FOUND');
    // the key is checked before readiness and before the body is parsed or validated
    const bad = await api(server.url, 'PUT', '/collections/x', '{not json');
    expect(bad.status).toBe(401);
  });

  it('reads a key from `api-key` or `Authorization: Bearer`, and rejects anything else', async () => {
    const get = (headers: Record<string, string>) => api(server.url, 'GET', '/collections', undefined, headers);
    expect((await get({ 'api-key': FULL })).status).toBe(200);
    expect((await get({ authorization: `Bearer ${READ}` })).status).toBe(200);
    expect((await get({ authorization: `bearer ${FULL}` })).status).toBe(200);
    for (const headers of [
      { 'api-key': NEAR },
      { 'api-key': FULL.slice(0, -1) },
      { 'api-key': `${FULL}x` },
      { 'api-key': FULL.toUpperCase() },
      { authorization: FULL },
      { authorization: `Basic ${Buffer.from(`user:${FULL}`).toString('base64')}` },
      { authorization: `Bearer ${WRONG}` },
      { 'x-api-key': FULL },
    ]) {
      const res = await get(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="strata"/);
    }
  });

  it('never writes a key to the log, not even a rejected one', async () => {
    await api(server.url, 'GET', '/collections', undefined, { 'api-key': WRONG });
    await api(server.url, 'DELETE', '/collections/matrix_1', undefined, { authorization: `Bearer ${READ}` });
    const out = server.output();
    expect(out).toContain('"status":401');
    expect(out).toContain('"status":403');
    for (const key of [FULL, READ, WRONG, NEAR]) expect(out).not.toContain(key);
    expect(out).toMatch(/"auth":true/);
  });
});

describe('API key configuration', () => {
  it.each([
    [{ STRATA_API_KEY: 'short' }, 'invalid STRATA_API_KEY'],
    [{ STRATA_READ_ONLY_API_KEY: '1234567' }, 'invalid STRATA_READ_ONLY_API_KEY'],
    [{ STRATA_API_KEY: 'has a space in it' }, 'invalid STRATA_API_KEY'],
    [{ STRATA_API_KEY: '' }, 'invalid STRATA_API_KEY'],
    [{ STRATA_API_KEY: 'same-key-12345', STRATA_READ_ONLY_API_KEY: 'same-key-12345' }, 'must differ'],
  ])('stops the start on %o, naming the setting but not the value', (env, message) => {
    const run = runWith(env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
    for (const value of Object.values(env).filter((v) => v.length > 0)) expect(run.stderr).not.toContain(value);
  });

  it('rejects a short key given as a flag', () => {
    const run = runWith({}, ['--api-key', 'abc']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('invalid --api-key: must be 8 to 512 visible ASCII characters');
  });

  it('takes the keys from --api-key and --read-only-api-key; a read-only key alone allows reads only', async () => {
    const server = await startServer({ args: ['--api-key', FULL, '--read-only-api-key', READ] });
    try {
      expect((await api(server.url, 'GET', '/collections')).status).toBe(401);
      expect((await api(server.url, 'GET', '/collections', undefined, { 'api-key': READ })).status).toBe(200);
      const body = { vectors: { size: 4, distance: 'Dot' } };
      expect((await api(server.url, 'PUT', '/collections/f', body, { 'api-key': READ })).status).toBe(403);
      expect((await api(server.url, 'PUT', '/collections/f', body, { 'api-key': FULL })).status).toBe(200);
    } finally {
      await server.stop();
    }
    const readOnly = await startServer({ env: { STRATA_READ_ONLY_API_KEY: READ } });
    try {
      expect((await api(readOnly.url, 'GET', '/collections')).status).toBe(401);
      expect((await api(readOnly.url, 'GET', '/collections', undefined, { 'api-key': READ })).status).toBe(200);
      const body = { vectors: { size: 4, distance: 'Dot' } };
      expect((await api(readOnly.url, 'PUT', '/collections/f', body, { 'api-key': READ })).status).toBe(403);
    } finally {
      await readOnly.stop();
    }
  });
});

function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
}

/** A request over HTTPS that accepts the self-signed test certificate; resolves with status, body and subject. */
function httpsGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; subject: string }>((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, headers }, (res) => {
      const subject = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, subject }));
    });
    req.on('error', reject);
  });
}

describe('TLS', () => {
  const openssl = hasOpenssl();

  it.skipIf(!openssl)(
    `serves HTTPS with STRATA_TLS_CERT and STRATA_TLS_KEY${openssl ? '' : ' (SKIPPED: openssl is not installed)'}`,
    async () => {
      const dir = tempDir('strata-tls-');
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      const gen = spawnSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1'].concat([
          '-keyout',
          key,
          '-out',
          cert,
        ]),
        { encoding: 'utf8' },
      );
      expect(gen.status, gen.stderr).toBe(0);
      const server = await startServer({
        env: { STRATA_TLS_CERT: cert, STRATA_TLS_KEY: key, STRATA_API_KEY: FULL },
        waitReady: false,
      });
      try {
        expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        let ready = await httpsGet(`${server.url}/readyz`);
        for (let i = 0; ready.status !== 200 && i < 200; i++) {
          await new Promise((r) => setTimeout(r, 50));
          ready = await httpsGet(`${server.url}/readyz`);
        }
        expect(ready.status).toBe(200);
        expect(ready.subject).toBe('localhost');
        expect((await httpsGet(`${server.url}/collections`)).status).toBe(401);
        const listed = await httpsGet(`${server.url}/collections`, { 'api-key': FULL });
        expect(listed.status).toBe(200);
        expect(JSON.parse(listed.body).result).toEqual({ collections: [] });
        // plain HTTP on the TLS port gets no answer
        const plain = await fetch(server.url.replace('https:', 'http:')).then(
          (r) => r.status,
          () => 'failed',
        );
        expect(plain).not.toBe(200);
      } finally {
        await server.stop();
      }
      // read after the exit: the start line may still sit in the logger's buffer while the server runs
      expect(server.output()).toMatch(/"tls":true/);
    },
  );

  it('stops the start when the certificate and key are not given together, unreadable or invalid', () => {
    const dir = tempDir('strata-tls-bad-');
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate');
    const cases: [Record<string, string>, string][] = [
      [{ STRATA_TLS_CERT: junk }, 'STRATA_TLS_CERT and STRATA_TLS_KEY (--tls-cert, --tls-key) must be set together'],
      [{ STRATA_TLS_KEY: junk }, 'must be set together'],
      [{ STRATA_TLS_CERT: path.join(dir, 'missing.pem'), STRATA_TLS_KEY: junk }, 'invalid STRATA_TLS_CERT='],
      [{ STRATA_TLS_CERT: junk, STRATA_TLS_KEY: junk }, 'invalid STRATA_TLS_CERT/STRATA_TLS_KEY'],
    ];
    for (const [env, message] of cases) {
      const run = runWith(env);
      expect(run.status, JSON.stringify(env)).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });
});
