import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

const DIM = 8;

/** Every point of a collection (id → vector and payload), read through scroll in pages. */
async function pointSet(url: string, name: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let offset: unknown = null;
  do {
    const page = await api(url, 'POST', `/collections/${name}/points/scroll`, {
      limit: 1000,
      offset,
      with_payload: true,
      with_vector: true,
    });
    expect(page.status).toBe(200);
    for (const p of page.body.result.points) out.set(p.id, JSON.stringify([p.vector, p.payload]));
    offset = page.body.result.next_page_offset;
  } while (offset !== null && offset !== undefined);
  return out;
}

/**
 * The concurrent writer's requests, in order: op 2n upserts ids [n*10, n*10+10) (offset 100,000), op 2n+1
 * deletes the odd ids batch n-3 wrote, so the state after any prefix of ops is computable.
 */
type Op = { upsert: { id: number; vector: number[]; payload: object }[] } | { delete: number[] };
function writerOps(batches: number, next: () => number): Op[] {
  const ops: Op[] = [];
  for (let n = 0; n < batches; n++) {
    ops.push({
      upsert: Array.from({ length: 10 }, (_, j) => ({
        id: 100_000 + n * 10 + j,
        vector: randomVector(next, DIM),
        payload: { batch: n, j },
      })),
    });
    ops.push({ delete: n >= 3 ? [1, 3, 5, 7, 9].map((j) => 100_000 + (n - 3) * 10 + j) : [] });
  }
  return ops;
}

/** The writer's points after its first `k` ops, as the server returns them (float32 vectors). */
function stateAfter(ops: readonly Op[], k: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const op of ops.slice(0, k)) {
    if ('upsert' in op)
      for (const p of op.upsert) out.set(p.id, JSON.stringify([p.vector.map(Math.fround), p.payload]));
    else for (const id of op.delete) out.delete(id);
  }
  return out;
}

describe('snapshots', () => {
  let server: RunningServer;
  let url: string;
  const next = rng(20261129);

  beforeAll(async () => {
    server = await startServer();
    url = server.url;
    expect(
      (
        await api(url, 'PUT', '/collections/src', {
          vectors: { size: DIM, distance: 'Dot' },
          optimizers_config: { indexing_threshold: 300 },
          hnsw_config: { m: 8, ef_construct: 32, full_scan_threshold: 10 },
        })
      ).status,
    ).toBe(200);
    await api(url, 'PUT', '/collections/src/index', { field_name: 'tag', field_schema: 'keyword' });
    // sealed segments (with graphs), tombstones in them, and a growing tail
    for (let b = 0; b < 4; b++) {
      const points = Array.from({ length: 300 }, (_, i) => ({
        id: b * 300 + i,
        vector: randomVector(next, DIM),
        payload: { tag: `t${i % 5}`, b },
      }));
      expect((await api(url, 'PUT', '/collections/src/points?wait=true', { points })).status).toBe(200);
    }
    for (let i = 0; i < 60; i++) {
      while ((await api(url, 'GET', '/collections/src')).body.result.status !== 'green')
        await new Promise((r) => setTimeout(r, 50));
    }
    await api(url, 'POST', '/collections/src/points/delete', { points: [0, 1, 2, 299, 300, 650] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('a snapshot taken under concurrent writes restores to exactly a prefix of the acknowledged writes', async () => {
    const ops = writerOps(1000, rng(7));
    let acked = 0;
    let sent = 0;
    let stop = false;
    const writer = (async () => {
      for (let n = 0; n < ops.length && !stop; n++) {
        sent = n + 1;
        const op = ops[n]!;
        const res =
          'upsert' in op
            ? await api(url, 'PUT', '/collections/src/points', { points: op.upsert })
            : await api(url, 'POST', '/collections/src/points/delete', { points: op.delete });
        expect(res.status).toBe(200);
        acked = n + 1;
      }
    })();
    while (acked < 40) await new Promise((r) => setTimeout(r, 5));
    const ackedBefore = acked;
    const created = await api(url, 'POST', '/collections/src/snapshots');
    const sentBefore = sent;
    expect(created.status).toBe(200);
    const snap = created.body.result;
    expect(snap.name).toMatch(/^src-.*\.snapshot$/);
    expect(snap.checksum).toMatch(/^[0-9a-f]{64}$/);
    while (acked < sentBefore + 20 && acked < ops.length) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await writer;
    expect(acked).toBeGreaterThan(sentBefore); // writes went on after the snapshot

    const restored = await api(url, 'PUT', '/collections/copy/snapshots/recover', { location: snap.name });
    expect(restored.status).toBe(200);
    const copy = await pointSet(url, 'copy');
    // the writer's points in the copy: exactly the state after some prefix of its requests, one that
    // includes every request acknowledged before the snapshot was asked for and none sent after it answered
    const writerPart = new Map([...copy].filter(([id]) => id >= 100_000));
    const prefixes = [];
    for (let k = ackedBefore; k <= sentBefore; k++) {
      const expected = stateAfter(ops, k);
      if (expected.size === writerPart.size && [...expected].every(([id, v]) => writerPart.get(id) === v))
        prefixes.push(k);
    }
    expect(prefixes.length, `no prefix in [${ackedBefore}, ${sentBefore}] matches`).toBeGreaterThan(0);
    // and the points written before the snapshot, untouched by the writer, are all there
    const src = await pointSet(url, 'src');
    for (const [id, value] of src) if (id < 100_000) expect(copy.get(id)).toBe(value);
    expect([...copy.keys()].filter((id) => id < 100_000).length).toBe(1200 - 6);
  });

  it('restores give identical search results, payload indexes and config; download and upload round trip', async () => {
    const before = await pointSet(url, 'src');
    // DBNorm state belongs to the collection too: a query bank and its normalizers travel with the snapshot
    const bank = { vectors: Array.from({ length: 5 }, () => randomVector(next, DIM)) };
    expect((await api(url, 'PUT', '/collections/src/banks/query?wait=true', bank)).status).toBe(200);
    const srcBank = (await api(url, 'GET', '/collections/src/banks/query')).body.result;
    const snap = (await api(url, 'POST', '/collections/src/snapshots?wait=true')).body.result;
    const list = await api(url, 'GET', '/collections/src/snapshots');
    expect(list.body.result.map((s: { name: string }) => s.name)).toContain(snap.name);

    // download, then upload the same bytes into another collection
    const download = await fetch(`${url}/collections/src/snapshots/${snap.name}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(bytes.byteLength).toBe(snap.size);
    const form = new FormData();
    form.append('snapshot', new Blob([bytes]), 'upload.snapshot');
    const uploaded = await fetch(`${url}/collections/uploaded/snapshots/upload?checksum=${snap.checksum}`, {
      method: 'POST',
      body: form,
    });
    expect(uploaded.status, await uploaded.clone().text()).toBe(200);

    // restore over an existing collection replaces it
    await api(url, 'PUT', '/collections/replaced', { vectors: { size: 3, distance: 'Euclid' } });
    expect(
      (
        await api(url, 'PUT', '/collections/replaced/snapshots/recover', {
          location: snap.name,
          checksum: snap.checksum,
        })
      ).status,
    ).toBe(200);

    const srcInfo = (await api(url, 'GET', '/collections/src')).body.result;
    for (const name of ['uploaded', 'replaced']) {
      expect(await pointSet(url, name)).toEqual(before);
      const info = (await api(url, 'GET', `/collections/${name}`)).body.result;
      expect(info.config).toEqual(srcInfo.config);
      expect(info.payload_schema).toEqual(srcInfo.payload_schema);
      expect((await api(url, 'GET', `/collections/${name}/banks/query`)).body.result).toEqual(srcBank);
      for (let q = 0; q < 10; q++) {
        const query = {
          vector: randomVector(next, DIM),
          limit: 10,
          filter: q % 2 ? { must: [{ key: 'tag', match: { value: 't2' } }] } : undefined,
        };
        const a = await api(url, 'POST', '/collections/src/points/search', query);
        const b = await api(url, 'POST', `/collections/${name}/points/search`, query);
        expect(b.body.result).toEqual(a.body.result);
      }
    }

    // everything survives a SIGKILL and restart
    await server.kill();
    server = await startServer({ dataDir: server.dataDir });
    url = server.url;
    for (const name of ['uploaded', 'replaced', 'copy']) expect((await pointSet(url, name)).size).toBeGreaterThan(0);
    expect(await pointSet(url, 'uploaded')).toEqual(before);

    // delete: gone from the list and from disk
    expect((await api(url, 'DELETE', `/collections/src/snapshots/${snap.name}`)).status).toBe(200);
    expect((await api(url, 'GET', `/collections/src/snapshots/${snap.name}`)).status).toBe(404);
    expect(
      (await api(url, 'GET', '/collections/src/snapshots')).body.result.map((s: { name: string }) => s.name),
    ).not.toContain(snap.name);
  });

  it('refuses bad archives, checksums and locations with 4xx and leaves the target unchanged', async () => {
    const before = await pointSet(url, 'src');
    const snap = (await api(url, 'POST', '/collections/src/snapshots')).body.result;
    const archive = path.join(server.dataDir, 'snapshots', 'src', snap.name);
    const good = fs.readFileSync(archive);

    const upload = async (bytes: Uint8Array, query = '') => {
      const form = new FormData();
      form.append('snapshot', new Blob([bytes]), 'x.snapshot');
      const res = await fetch(`${url}/collections/src/snapshots/upload${query}`, { method: 'POST', body: form });
      return { status: res.status, body: (await res.json()) as any };
    };
    // garbage, a truncated archive, a flipped byte inside a file, a wrong expected checksum
    const flipped = Buffer.from(good);
    flipped[flipped.length - 2000]! ^= 0xff;
    const cases: [Uint8Array, string][] = [
      [Buffer.from('not a tar archive at all'.repeat(40)), ''],
      [good.subarray(0, Math.floor(good.length / 2)), ''],
      [flipped, ''],
      [good, `?checksum=${'0'.repeat(64)}`],
    ];
    for (const [bytes, query] of cases) {
      const res = await upload(bytes, query);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.status.code).toBe('STRATA_ERR_SNAPSHOT_INVALID');
    }
    for (const location of ['/etc/passwd', 'file:///etc/passwd', '../../catalog.sqlite', `../src/${snap.name}`]) {
      const res = await api(url, 'PUT', '/collections/src/snapshots/recover', { location });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(['STRATA_ERR_SNAPSHOT_LOCATION', 'STRATA_ERR_SNAPSHOT_NOT_FOUND']).toContain(res.body.status.code);
    }
    expect((await api(url, 'GET', '/collections/src/snapshots/nope.snapshot')).body.status.code).toBe(
      'STRATA_ERR_SNAPSHOT_NOT_FOUND',
    );
    expect((await api(url, 'POST', '/collections/missing/snapshots')).status).toBe(404);
    const notMultipart = await api(url, 'POST', '/collections/src/snapshots/upload', {});
    expect(notMultipart.status).toBe(415);
    expect(await pointSet(url, 'src')).toEqual(before);
    // no staging left behind
    expect(fs.readdirSync(path.join(server.dataDir, 'snapshots')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a SIGKILL during a restore leaves the old collection or the restored one, never a mix', async () => {
    const dim = 32;
    const big = rng(99);
    await api(url, 'PUT', '/collections/big', {
      vectors: { size: dim, distance: 'Euclid' },
      optimizers_config: { indexing_threshold: 4000 },
      hnsw_config: { m: 8, ef_construct: 16 },
    });
    for (let i = 0; i < 12_000; i += 2000) {
      const points = Array.from({ length: 2000 }, (_, j) => ({
        id: i + j,
        vector: randomVector(big, dim),
        payload: { i: i + j },
      }));
      await api(url, 'PUT', '/collections/big/points', { points });
    }
    while ((await api(url, 'GET', '/collections/big')).body.result.status !== 'green')
      await new Promise((r) => setTimeout(r, 50));
    const snap = (await api(url, 'POST', '/collections/big/snapshots')).body.result;
    const bigSet = await pointSet(url, 'big');
    let started = Date.now();
    expect((await api(url, 'PUT', '/collections/probe/snapshots/recover', { location: snap.name })).status).toBe(200);
    const restoreMs = Date.now() - started;

    const delays = rng(5);
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const name = `target_${round}`;
      await api(url, 'PUT', `/collections/${name}`, { vectors: { size: dim, distance: 'Euclid' } });
      const old = Array.from({ length: 50 }, (_, id) => ({ id: 50_000 + id, vector: randomVector(big, dim) }));
      await api(url, 'PUT', `/collections/${name}/points`, { points: old });
      const oldSet = await pointSet(url, name);
      const restore = api(url, 'PUT', `/collections/${name}/snapshots/recover`, { location: snap.name }).catch(
        () => null,
      );
      await new Promise((r) => setTimeout(r, Math.floor(delays() * restoreMs * 1.2)));
      await server.kill();
      await restore;
      started = Date.now();
      server = await startServer({ dataDir: server.dataDir });
      url = server.url;
      const after = await pointSet(url, name);
      const which = after.size === oldSet.size ? oldSet : bigSet;
      expect(after, `round ${round}`).toEqual(which);
      outcomes.push(which === oldSet ? 'old' : 'restored');
      expect((await api(url, 'GET', '/collections/big')).body.result.points_count).toBe(12_000);
    }
    console.log(`restore takes ${restoreMs} ms; after SIGKILL during restores: ${outcomes.join(', ')}`);
    const leftovers = fs
      .readdirSync(path.join(server.dataDir, 'collections'))
      .filter((d) => !/^[A-Za-z0-9_-]+$/.test(d));
    expect(leftovers).toEqual([]);
  });
});
