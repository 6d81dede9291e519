import type { Condition, RangeBounds, Scalar } from './condition.js';
import { parseDatetime } from './datetime.js';
import { flatValues, lookup } from './payload-path.js';

/**
 * A condition compiled over a payload object: does this payload (of row `offset` in segment `segmentUid`)
 * satisfy it? Used for whole rows and, inside `nested`, for the elements of an array.
 */
export type PayloadPredicate = (payload: unknown, segmentUid: number, offset: number) => boolean;

export function inBounds(x: number, b: RangeBounds): boolean {
  return (
    (b.gt === undefined || x > b.gt) &&
    (b.gte === undefined || x >= b.gte) &&
    (b.lt === undefined || x < b.lt) &&
    (b.lte === undefined || x <= b.lte)
  );
}

function nonNull(values: unknown[]): unknown[] {
  return values.filter((v) => v !== null && v !== undefined);
}

export function compilePayloadPredicate(condition: Condition): PayloadPredicate {
  switch (condition.kind) {
    case 'const': {
      const value = condition.value;
      return () => value;
    }
    case 'and': {
      const parts = condition.items.map(compilePayloadPredicate);
      return (p, u, o) => parts.every((f) => f(p, u, o));
    }
    case 'or': {
      const parts = condition.items.map(compilePayloadPredicate);
      return (p, u, o) => parts.some((f) => f(p, u, o));
    }
    case 'not': {
      const inner = compilePayloadPredicate(condition.item);
      return (p, u, o) => !inner(p, u, o);
    }
    case 'min_should': {
      const parts = condition.items.map(compilePayloadPredicate);
      const min = condition.min;
      return (p, u, o) => {
        let hits = 0;
        for (const f of parts) if (f(p, u, o) && ++hits >= min) return true;
        return hits >= min;
      };
    }
    case 'match': {
      const wanted = new Set<Scalar>(condition.values);
      const path = condition.path;
      return (p) => flatValues(lookup(p, path)).some((v) => wanted.has(v as Scalar));
    }
    case 'except': {
      const excluded = new Set<Scalar>(condition.values);
      const path = condition.path;
      return (p) =>
        flatValues(lookup(p, path)).some(
          (v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && !excluded.has(v),
        );
    }
    case 'text': {
      const { path, text } = condition;
      return (p) => flatValues(lookup(p, path)).some((v) => typeof v === 'string' && v.includes(text));
    }
    case 'range': {
      const { path, bounds, datetime } = condition;
      if (datetime) {
        return (p) =>
          flatValues(lookup(p, path)).some((v) => {
            if (typeof v !== 'string') return false;
            const t = parseDatetime(v);
            return !Number.isNaN(t) && inBounds(t, bounds);
          });
      }
      return (p) => flatValues(lookup(p, path)).some((v) => typeof v === 'number' && inBounds(v, bounds));
    }
    case 'values_count': {
      const { path, bounds } = condition;
      return (p) => inBounds(nonNull(flatValues(lookup(p, path))).length, bounds);
    }
    case 'is_empty': {
      const path = condition.path;
      return (p) => nonNull(flatValues(lookup(p, path))).length === 0;
    }
    case 'is_null': {
      const path = condition.path;
      return (p) => lookup(p, path).some((v) => v === null);
    }
    case 'has_id': {
      const rows = condition.rows;
      return (_p, u, o) => rows.get(u)?.has(o) === true;
    }
    case 'nested': {
      const { path } = condition;
      const inner = compilePayloadPredicate(condition.filter);
      // Each element of the array at `path` must satisfy the whole inner filter on its own.
      return (p, u, o) =>
        flatValues(lookup(p, path)).some((el) => el !== null && typeof el === 'object' && inner(el, u, o));
    }
  }
}
