import fc from 'fast-check';

/**
 * Generators of malformed and hostile requests for every route of the OpenAPI document. Each request is invalid
 * by construction (a bad name, bad JSON, a wrong type or range, a too deep or too large value, a wrong content
 * type), so a correct server answers every one with a 4xx and changes nothing.
 */
export interface FuzzRequest {
  readonly method: string;
  /** Exactly as sent: already percent-encoded. */
  readonly path: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** Which generator made it (shown when a request fails). */
  readonly kind: string;
}

type Schema = Record<string, any>;

export interface Route {
  readonly method: string;
  /** OpenAPI path template, `/collections/{collection_name}/points`. */
  readonly template: string;
  readonly params: readonly string[];
  readonly queryParams: readonly string[];
  readonly body: Schema | null;
}

export function routesOf(spec: Schema): Route[] {
  const out: Route[] = [];
  for (const [template, ops] of Object.entries(spec.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const parameters = (op.parameters ?? []) as { in: string; name: string; schema?: { type?: string } }[];
      out.push({
        method: method.toUpperCase(),
        template,
        params: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        // the query parameters a hostile value can break: booleans and integers (a free string takes anything)
        queryParams: parameters
          .filter((p) => p.in === 'query' && (p.schema?.type === 'boolean' || p.schema?.type === 'integer'))
          .map((p) => p.name),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      });
    }
  }
  return out;
}

const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
/** A filter nested `n` levels through `must` and `nested` (each level is about 4 JSON levels). */
export function deepFilter(n: number): unknown {
  let filter: unknown = { must: [{ key: 'city', match: { value: 'x' } }] };
  for (let i = 0; i < n; i++) filter = { must: [{ nested: { key: 'rooms', filter } }] };
  return filter;
}
function deepPayload(n: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < n; i++) value = { a: value };
  return value;
}

/** Strings that are never a valid collection name, raw or percent-encoded as a client would send them. */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f%2e%2e%2f',
    '%2e%2e',
    '.',
    '%00',
    'a%00b',
    'fz%00',
    '%ff%fe',
    '%c3%28',
    '%zz',
    '%',
    'a%2fb',
    'a%5cb',
    '%0d%0aX-Injected%3a%201',
    '%3cscript%3e',
    '%24(rm%20-rf)',
    'fz%20',
    '%e2%80%ae',
    '%f0%9f%92%a9',
    'x'.repeat(129),
    'y'.repeat(1025),
    'z'.repeat(5000),
  ),
  // arbitrary text with at least one character outside [A-Za-z0-9_-]
  fc
    .tuple(fc.string({ maxLength: 40 }), fc.constantFrom(' ', '.', '/', '\u0000', 'é', '\u{1F4A9}', '\ud800', '%', '?'))
    .map(([s, bad]) => encodeSegment(`${s}${bad}`)),
);

/** Percent-encodes a segment; lone surrogates (which encodeURIComponent rejects) become bad UTF-8 bytes. */
function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return `${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}%ed%a0%80`;
  }
}

/** Never a valid point id: not a u64 and not a UUID. */
const hostileId = fc.oneof(
  hostileSegment,
  fc.constantFrom('-1', '1.5', '1e3', '18446744073709551616', '99999999999999999999999', 'NaN', 'Infinity', '0x10'),
  fc.constantFrom('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '123e4567-e89b-12d3-a456-42661417400'),
);

/** Query strings no route accepts: `wait` must be a boolean and `timeout` a positive integer. */
/** A value no boolean or integer query parameter accepts, for one of the route's own parameters. */
const hostileQueryValue = fc.oneof(
  fc.constantFrom('maybe', '%00', '-1', '1e400', 'abc', '2.9', '-0.5'),
  fc.string({ maxLength: 20 }).map((s) => encodeSegment(`x${s}`)),
);
const hostileQuery = (names: readonly string[]) =>
  fc.tuple(fc.constantFrom(...names), hostileQueryValue).map(([name, value]) => `${name}=${value}`);

/** JSON values by type, hostile where they can be: huge numbers, NaN-like strings, traversal, long text. */
const VALUES_BY_TYPE: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  string: fc.oneof(
    fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '../../etc/passwd', '\u0000', '\ud800', ''),
    fc.string({ maxLength: 30 }),
    fc.integer({ min: 1000, max: 200_000 }).map((n) => 'x'.repeat(n)),
  ),
  number: fc.constantFrom(0.5, -1.5, 1e308, -1e308, 5e-324, 2 ** 64, 2 ** 53 + 1, -0),
  integer: fc.constantFrom(1e308, -1e308, 2 ** 64, 2 ** 53 + 1, -1, -(2 ** 63)),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.oneof(fc.constant([]), fc.array(fc.oneof(fc.string(), fc.double(), fc.constant(null)), { maxLength: 5 })),
  object: fc.oneof(
    fc.constant({}),
    fc.constant({ __proto__: null, constructor: 1 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.integer()),
  ),
};

function resolve(spec: Schema, schema: Schema): Schema {
  const ref = schema.$ref as string | undefined;
  return ref ? resolve(spec, spec.components.schemas[ref.split('/').at(-1)!]) : schema;
}

/** The JSON types a schema admits; `null` means any value. */
function allowedTypes(spec: Schema, raw: Schema): Set<string> | null {
  const schema = resolve(spec, raw);
  if (schema.anyOf) {
    const out = new Set<string>();
    for (const alt of schema.anyOf as Schema[]) {
      const types = allowedTypes(spec, alt);
      if (types === null) return null;
      for (const t of types) out.add(t);
    }
    return out;
  }
  if (schema.type === undefined) return schema.enum?.every((v: unknown) => v === null) ? new Set(['null']) : null;
  const out = new Set<string>([schema.type === 'integer' ? 'integer' : schema.type]);
  if (schema.nullable) out.add('null');
  return out;
}

/** Values the schema rejects: another JSON type, or a number out of its range. */
function wrongValues(spec: Schema, raw: Schema): fc.Arbitrary<unknown> | null {
  const schema = resolve(spec, raw);
  const types = allowedTypes(spec, schema);
  if (types === null) return null;
  const choices: fc.Arbitrary<unknown>[] = [];
  for (const [type, values] of Object.entries(VALUES_BY_TYPE)) {
    if (types.has(type) || (type === 'integer' && types.has('number'))) continue;
    // a number is wrong for an integer field only when it is not an integer
    if (type === 'number' && types.has('integer')) choices.push(fc.constantFrom(0.5, -1.5, 5e-324));
    else choices.push(values);
  }
  if (!schema.anyOf && (schema.type === 'integer' || schema.type === 'number')) {
    const out: number[] = [];
    if (schema.minimum !== undefined) out.push(schema.minimum - 1, -1e308);
    if (schema.maximum !== undefined) out.push(schema.maximum + 1, 1e308, 2 ** 64);
    if (out.length > 0) choices.push(fc.constantFrom(...out));
  }
  return choices.length > 0 ? fc.oneof(...choices) : null;
}

/** The body's object schema the template matches (the `anyOf` alternative whose required keys it has). */
function objectSchemaOf(spec: Schema, raw: Schema, value: Record<string, unknown>): Schema | null {
  const schema = resolve(spec, raw);
  if (schema.anyOf) {
    const alts = (schema.anyOf as Schema[]).map((a) => resolve(spec, a)).filter((a) => a.type === 'object');
    return (
      alts.find((a) => ((a.required ?? []) as string[]).every((k) => k in value) && a.required?.length) ??
      alts.find((a) => Object.keys(value).every((k) => k in (a.properties ?? {}))) ??
      null
    );
  }
  return schema.type === 'object' ? schema : null;
}

interface Mutation {
  readonly path: readonly (string | number)[];
  readonly values: fc.Arbitrary<unknown> | null;
  readonly remove: boolean;
}

/**
 * Every place in the template where a wrong value makes the body invalid: each present property (walking into
 * plain objects and arrays), with the values its schema rejects; required properties may also be removed.
 */
function mutationsOf(spec: Schema, schema: Schema, value: unknown, path: (string | number)[] = []): Mutation[] {
  const out: Mutation[] = [];
  if (Array.isArray(value)) {
    const items = resolve(spec, schema).items as Schema | undefined;
    if (items && value.length > 0) {
      out.push({ path: [...path, 0], values: wrongValues(spec, items), remove: false });
      out.push(...mutationsOf(spec, items, value[0], [...path, 0]));
    }
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  const object = objectSchemaOf(spec, schema, value as Record<string, unknown>);
  if (object === null) return out;
  const required = new Set((object.required ?? []) as string[]);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childSchema = object.properties?.[key] as Schema | undefined;
    if (!childSchema) continue;
    out.push({ path: [...path, key], values: wrongValues(spec, childSchema), remove: required.has(key) });
    const resolved = resolve(spec, childSchema);
    if (!resolved.anyOf) out.push(...mutationsOf(spec, resolved, child, [...path, key]));
  }
  return out;
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

function bodyRequests(
  spec: Schema,
  route: Route,
  fill: (name: string) => string,
  template: unknown,
  semantic: readonly unknown[],
) {
  const path = concretePath(route, fill);
  const json = JSON.stringify(template);
  const req = (kind: string, body: string | Buffer, contentType = 'application/json'): FuzzRequest => ({
    method: route.method,
    path,
    body,
    contentType,
    kind,
  });
  const badJson = fc.oneof(
    fc.integer({ min: 1, max: Math.max(1, json.length - 1) }).map((n) => req('truncated json', json.slice(0, n))),
    fc.constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', "'x'", '0x10', '01', '1e', '.5', '+1').map((tok) =>
      // a template without a number gets the token as a new member, so the body is always invalid JSON
      req(
        'bad token',
        /\d/.test(json)
          ? json.replace(/(-?\d+(\.\d+)?)/, tok)
          : json.replace(/}$/, `${json === '{}' ? '' : ','}"bad":${tok}}`),
      ),
    ),
    fc
      .constantFrom('{', '}', '[', '{"a":1,}', '{"a" 1}', "{'a':1}", '\u0000', '{"a":"\\u12"}', '{"a":tru}')
      .map((s) => req('bad json', s)),
    fc
      .constantFrom(0xff, 0xfe, 0xc0, 0x80, 0xed)
      .map((byte) =>
        req('bad utf-8', Buffer.concat([Buffer.from(json.slice(0, -1)), Buffer.from([byte]), Buffer.from('}')])),
      ),
    fc.constant(req('trailing junk', `${json} {}`)),
  );
  const deep = fc.oneof(
    fc.integer({ min: 257, max: 12_000 }).map((n) => req('deep array body', deepArray(n))),
    fc.integer({ min: 257, max: 12_000 }).map((n) => req('deep object body', deepObject(n))),
    fc
      .integer({ min: 257, max: 10_000 })
      .map((n) => req('deep value', json.replace(/^\{/, `{"deep":${deepArray(n)},`))),
  );
  const contentType = fc
    .constantFrom(
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/jsonx',
      'text/json',
    )
    .map((ct) => req('content type', json, ct));
  const choices: fc.Arbitrary<FuzzRequest>[] = [badJson, deep, contentType];
  const mutations = route.body ? mutationsOf(spec, route.body, template) : [];
  const usable = mutations.filter((m) => m.values !== null || m.remove);
  if (usable.length > 0) {
    choices.push(
      fc.constantFrom(...usable).chain((m) => {
        const removal = fc.constant(
          req(`remove ${m.path.join('.')}`, JSON.stringify(setAt(template, m.path, null, true))),
        );
        const wrong = m.values?.map((v) =>
          req(`wrong ${m.path.join('.')}`, JSON.stringify(setAt(template, m.path, v, false)) ?? 'null'),
        );
        if (wrong && m.remove) return fc.oneof(wrong, removal);
        return wrong ?? removal;
      }),
    );
  }
  if (semantic.length > 0) choices.push(fc.constantFrom(...semantic).map((b) => req('semantic', JSON.stringify(b))));
  return fc.oneof(...choices);
}

function concretePath(route: Route, fill: (name: string) => string): string {
  return route.template.replace(/\{(\w+)\}/g, (_, name: string) => fill(name));
}

export interface FuzzTarget {
  /** The collection whose data must not change. */
  readonly collection: string;
  /** A valid body per `METHOD template`, to be broken; routes without one are broken from `{}`. */
  readonly templates: Readonly<Record<string, unknown>>;
  /** Bodies valid for the schema that the server must still refuse (dimensions, limits, depth, size). */
  readonly semantic: Readonly<Record<string, readonly unknown[]>>;
}

/** The hostile requests for one route. */
export function requestsFor(spec: Schema, route: Route, target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  const key = `${route.method} ${route.template}`;
  const choices: fc.Arbitrary<FuzzRequest>[] = [];
  const sample = JSON.stringify(target.templates[key] ?? {});
  const bodyOf = (kind: string) => (route.body ? { body: sample, contentType: 'application/json', kind } : { kind });
  if (route.params.length > 0) {
    // one path parameter hostile, the others real
    choices.push(
      fc.tuple(fc.constantFrom(...route.params), hostileSegment, hostileId).map(([param, bad, badId]) => ({
        method: route.method,
        path: concretePath(route, (name) => (name !== param ? realParam(name, target) : name === 'id' ? badId : bad)),
        ...bodyOf(`hostile ${param}`),
      })),
    );
  }
  if (route.queryParams.length > 0) {
    choices.push(
      hostileQuery(route.queryParams).map((q) => ({
        method: route.method,
        path: `${concretePath(route, (name) => realParam(name, target))}?${q}`,
        ...bodyOf('hostile query'),
      })),
    );
  }
  if (route.body) {
    const semantic = target.semantic[key] ?? [];
    choices.push(bodyRequests(spec, route, (name) => realParam(name, target), target.templates[key] ?? {}, semantic));
  }
  if (choices.length === 0) {
    // routes without parameters or body (GET /, /healthz, /metrics, /collections): junk query strings and bodies
    choices.push(
      fc
        .tuple(hostileQuery(['wait', 'timeout']), fc.option(fc.constantFrom('{', deepArray(20_000), '\u0000\u00ff')))
        .map(([q, body]) => ({
          method: route.method,
          path: `${route.template}?${q}`,
          ...(body === null ? {} : { body, contentType: 'application/json' }),
          kind: 'junk on a parameterless route',
        })),
    );
  }
  return fc.oneof(...choices);
}

/** Real values for the path parameters that are not being broken. */
function realParam(name: string, target: FuzzTarget): string {
  if (name === 'collection_name') return target.collection;
  // an index that does not exist: deleting it must answer 404 and change nothing
  if (name === 'field_name') return 'no_such_field';
  if (name === 'id') return '1';
  return 'x';
}

export const HOSTILE_BODIES = { deepArray, deepObject, deepPayload };
