import fs from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { generateOpenApi } from '../../dist/openapi/generate.js';
import { ROOT } from '../helpers/server.js';

const COMMITTED = path.join(ROOT, 'openapi/openapi.json');

it('openapi/openapi.json is up to date with the route schemas (run `npm run openapi` to refresh)', async () => {
  const fresh: string = await generateOpenApi();
  expect(fs.readFileSync(COMMITTED, 'utf8')).toBe(fresh);
});

it('is a valid OpenAPI 3 document that covers every route', async () => {
  const validator = new Validator();
  const result = await validator.validate(JSON.parse(fs.readFileSync(COMMITTED, 'utf8')));
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
  const spec = JSON.parse(fs.readFileSync(COMMITTED, 'utf8'));
  const routes = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
  );
  for (const route of [
    'GET /',
    'GET /healthz',
    'GET /readyz',
    'GET /collections',
    'PUT /collections/{collection_name}',
    'GET /collections/{collection_name}',
    'DELETE /collections/{collection_name}',
    'GET /collections/{collection_name}/exists',
    'PUT /collections/{collection_name}/index',
    'DELETE /collections/{collection_name}/index/{field_name}',
    'PUT /collections/{collection_name}/points',
    'POST /collections/{collection_name}/points',
    'GET /collections/{collection_name}/points/{id}',
    'POST /collections/{collection_name}/points/delete',
    'POST /collections/{collection_name}/points/payload',
    'PUT /collections/{collection_name}/points/payload',
    'POST /collections/{collection_name}/points/payload/delete',
    'POST /collections/{collection_name}/points/payload/clear',
    'POST /collections/{collection_name}/points/scroll',
    'POST /collections/{collection_name}/points/count',
    'POST /collections/{collection_name}/points/search',
    'POST /collections/{collection_name}/points/search/batch',
    'POST /collections/{collection_name}/points/query',
    'POST /collections/{collection_name}/points/query/batch',
  ]) {
    expect(routes).toContain(route);
  }
  for (const op of Object.values(
    spec.paths as Record<string, Record<string, { tags?: string[]; responses: object }>>,
  ).flatMap(Object.values)) {
    expect(op.tags?.length).toBeGreaterThan(0);
    expect(Object.keys(op.responses)).toContain('200');
  }
});
