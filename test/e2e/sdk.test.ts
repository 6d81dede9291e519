import fs from 'node:fs';
import path from 'node:path';
import { createStrataClient, StrataApiError, unwrap } from '@strata/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript script without a declaration
import { generateSdkTypes, TARGET } from '../../scripts/generate-sdk.mjs';
import { ROOT, type RunningServer, startServer } from '../helpers/server.js';

it('sdk/src/schema.ts is up to date with openapi/openapi.json (run `npm run sdk` to refresh)', async () => {
  expect(path.relative(ROOT, TARGET)).toBe(path.join('sdk', 'src', 'schema.ts'));
  expect(fs.readFileSync(TARGET, 'utf8')).toBe(await generateSdkTypes());
});

/** Only the generated client talks to the server here: no hand-written request. */
describe('the generated SDK against a real server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { STRATA_API_KEY: 'sdk-secret' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates, upserts, searches with a filter, batch-searches, scrolls and deletes', async () => {
    const client = createStrataClient(server.url, { apiKey: 'sdk-secret' });
    const collection = { params: { path: { collection_name: 'sdk' } } };

    const created = await client.PUT('/collections/{collection_name}', {
      ...collection,
      body: { vectors: { size: 3, distance: 'Euclid' } },
    });
    expect(created.data?.result).toBe(true);

    const points = Array.from({ length: 20 }, (_, i) => ({
      id: i + 1,
      vector: [i, i % 5, 1],
      payload: { parity: i % 2 === 0 ? 'even' : 'odd', rank: i },
    }));
    const upserted = await client.PUT('/collections/{collection_name}/points', {
      params: { path: { collection_name: 'sdk' }, query: { wait: true } },
      body: { points },
    });
    expect(upserted.data?.result.status).toBe('completed');

    const odd = { must: [{ key: 'parity', match: { value: 'odd' } }] };
    const found = await client.POST('/collections/{collection_name}/points/search', {
      ...collection,
      body: { vector: [4, 4, 1], limit: 3, filter: odd, with_payload: true },
    });
    expect(found.error).toBeUndefined();
    expect(found.data?.result.map((p) => p.id)).toEqual([4, 8, 6]);
    expect(found.data?.result.every((p) => p.payload?.parity === 'odd')).toBe(true);

    const batch = unwrap(
      await client.POST('/collections/{collection_name}/points/search/batch', {
        ...collection,
        body: {
          searches: [
            { vector: [0, 0, 1], limit: 1 },
            { vector: [19, 4, 1], limit: 2, filter: { must: [{ key: 'rank', range: { lt: 10 } }] } },
          ],
        },
      }),
    );
    expect(batch.map((hits) => hits.map((p) => p.id))).toEqual([[1], [10, 9]]);

    const seen: Array<number | string> = [];
    let offset: number | string | null = null;
    do {
      const page = unwrap(
        await client.POST('/collections/{collection_name}/points/scroll', {
          ...collection,
          body: { limit: 7, with_payload: false, ...(offset === null ? {} : { offset }) },
        }),
      );
      seen.push(...page.points.map((p) => p.id));
      offset = page.next_page_offset;
    } while (offset !== null);
    expect(seen).toEqual(points.map((p) => p.id));

    await client.POST('/collections/{collection_name}/points/delete', {
      params: { path: { collection_name: 'sdk' }, query: { wait: true } },
      body: { filter: odd },
    });
    const count = unwrap(await client.POST('/collections/{collection_name}/points/count', { ...collection, body: {} }));
    expect(count.count).toBe(10);

    expect(unwrap(await client.DELETE('/collections/{collection_name}', collection))).toBe(true);
    const missing = await client.GET('/collections/{collection_name}', collection);
    expect(missing.response.status).toBe(404);
    expect(missing.error?.status.code).toBe('STRATA_ERR_COLLECTION_NOT_FOUND');
    expect(() => unwrap(missing)).toThrow(StrataApiError);
  });

  it('sends the API key it was given', async () => {
    const anonymous = createStrataClient(server.url);
    const answer = await anonymous.GET('/collections');
    expect(answer.response.status).toBe(401);
    expect(answer.error?.status.code).toBe('STRATA_ERR_UNAUTHORIZED');
  });
});
