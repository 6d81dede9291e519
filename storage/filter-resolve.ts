import { type Condition, parseDatetime, parseKey, type RangeBounds, type Scalar } from '../index-engine/index.js';
import { StrataError } from './errors.js';
import type { ConditionJson, FieldConditionJson, FilterJson, Many, RangeJson } from './filter-json.js';
import { type PointId, parsePointId } from './point-id.js';

/** Documented limits: deeper or larger filters are rejected (STRATA_ERR_FILTER) rather than slowly evaluated. */
export const MAX_FILTER_DEPTH = 32;
export const MAX_FILTER_CONDITIONS = 1024;

/** What resolution needs from the collection: where a point id lives, and keyword dictionary codes. */
export interface FilterContext {
  readonly locate: (id: PointId) => { uid: number; offset: number } | undefined;
  /** Codes for `match` values on a field kept as a keyword column, else undefined. */
  readonly keywordCodes: (path: readonly string[], values: readonly Scalar[]) => number[] | undefined;
}

interface Context extends FilterContext {
  conditions: number;
  readonly inNested: boolean;
}

/** Qdrant filter JSON → engine Condition. Throws STRATA_ERR_FILTER / STRATA_ERR_POINT_ID on bad input. */
export function resolveFilter(filter: FilterJson, context: FilterContext): Condition {
  return resolveClauses(filter, { ...context, conditions: 0, inNested: false }, 1);
}

function list<T>(value: Many<T> | null | undefined): readonly T[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function resolveClauses(filter: FilterJson, ctx: Context, depth: number): Condition {
  if (depth > MAX_FILTER_DEPTH) throw new StrataError('STRATA_ERR_FILTER', [`nested deeper than ${MAX_FILTER_DEPTH}`]);
  const parts: Condition[] = [];
  const must = list(filter.must).map((c) => resolveCondition(c, ctx, depth + 1));
  if (must.length > 0) parts.push({ kind: 'and', items: must });
  const should = list(filter.should).map((c) => resolveCondition(c, ctx, depth + 1));
  if (should.length > 0) parts.push({ kind: 'or', items: should });
  const mustNot = list(filter.must_not).map((c) => resolveCondition(c, ctx, depth + 1));
  if (mustNot.length > 0) parts.push({ kind: 'not', item: { kind: 'or', items: mustNot } });
  if (filter.min_should) {
    const items = filter.min_should.conditions.map((c) => resolveCondition(c, ctx, depth + 1));
    parts.push({ kind: 'min_should', items, min: filter.min_should.min_count });
  }
  if (parts.length === 0) return { kind: 'const', value: true };
  return parts.length === 1 ? parts[0]! : { kind: 'and', items: parts };
}

function key(raw: string): string[] {
  const path = parseKey(raw);
  if (path.length === 0) throw new StrataError('STRATA_ERR_FILTER', [`empty key ${JSON.stringify(raw)}`]);
  return path;
}

function resolveCondition(c: ConditionJson, ctx: Context, depth: number): Condition {
  if (++ctx.conditions > MAX_FILTER_CONDITIONS) {
    throw new StrataError('STRATA_ERR_FILTER', [`more than ${MAX_FILTER_CONDITIONS} conditions`]);
  }
  if ('key' in c) return resolveField(c, ctx);
  if ('is_empty' in c) return { kind: 'is_empty', path: key(c.is_empty.key) };
  if ('is_null' in c) return { kind: 'is_null', path: key(c.is_null.key) };
  if ('has_id' in c) {
    if (ctx.inNested) throw new StrataError('STRATA_ERR_FILTER', ['has_id is not allowed inside nested']);
    const rows = new Map<number, Set<number>>();
    for (const raw of c.has_id) {
      const where = ctx.locate(parsePointId(raw));
      if (where === undefined) continue;
      const set = rows.get(where.uid) ?? new Set<number>();
      set.add(where.offset);
      rows.set(where.uid, set);
    }
    return { kind: 'has_id', rows };
  }
  if ('nested' in c) {
    const inner = resolveClauses(c.nested.filter, { ...ctx, inNested: true }, depth + 1);
    return { kind: 'nested', path: key(c.nested.key), filter: inner };
  }
  return resolveClauses(c, ctx, depth);
}

function resolveField(c: FieldConditionJson, ctx: Context): Condition {
  const path = key(c.key);
  const parts: Condition[] = [];
  const match = (values: readonly Scalar[]): Condition => {
    // inside `nested`, keys are relative to array elements, which have no columns
    const keywordCodes = ctx.inNested ? undefined : ctx.keywordCodes(path, values);
    return keywordCodes === undefined ? { kind: 'match', path, values } : { kind: 'match', path, values, keywordCodes };
  };
  if (c.match !== undefined) {
    const m = c.match;
    if ('value' in m) parts.push(match([m.value]));
    else if ('any' in m) parts.push(match(m.any));
    else if ('except' in m) parts.push({ kind: 'except', path, values: m.except });
    else parts.push({ kind: 'text', path, text: m.text });
  }
  if (c.range !== undefined) parts.push(resolveRange(c.key, c.range, path));
  if (c.values_count !== undefined) {
    const { bounds, datetime } = rangeBounds(c.key, c.values_count);
    if (datetime) throw new StrataError('STRATA_ERR_FILTER', [`values_count on ${c.key} needs numbers`]);
    parts.push({ kind: 'values_count', path, bounds });
  }
  if (parts.length === 0) {
    throw new StrataError('STRATA_ERR_FILTER', [`condition on ${c.key} needs match, range or values_count`]);
  }
  return parts.length === 1 ? parts[0]! : { kind: 'and', items: parts };
}

function resolveRange(rawKey: string, range: RangeJson, path: string[]): Condition {
  const { bounds, datetime } = rangeBounds(rawKey, range);
  return { kind: 'range', path, bounds, datetime };
}

function rangeBounds(rawKey: string, range: RangeJson): { bounds: RangeBounds; datetime: boolean } {
  const entries = (['gt', 'gte', 'lt', 'lte'] as const)
    .map((op) => [op, range[op]] as const)
    .filter((e): e is readonly ['gt' | 'gte' | 'lt' | 'lte', number | string] => e[1] !== undefined && e[1] !== null);
  const strings = entries.filter(([, v]) => typeof v === 'string').length;
  if (strings > 0 && strings < entries.length) {
    throw new StrataError('STRATA_ERR_FILTER', [`range on ${rawKey} mixes numbers and datetimes`]);
  }
  const bounds: Record<string, number> = {};
  for (const [op, v] of entries) {
    const n = typeof v === 'string' ? parseDatetime(v) : v;
    if (!Number.isFinite(n)) {
      throw new StrataError('STRATA_ERR_FILTER', [
        `range ${op} on ${rawKey}: ${JSON.stringify(v)} is not an RFC 3339 datetime`,
      ]);
    }
    bounds[op] = n;
  }
  return { bounds: bounds as RangeBounds, datetime: strings > 0 };
}
