import type { Condition, RangeBounds } from '../filter/condition.js';
import {
  ALL_NUMBERS,
  complement,
  contains,
  intersect,
  interval,
  isSubset,
  type NumberSet,
  overlaps,
  points,
  subtract,
} from './number-set.js';

/**
 * What a partition-tree node knows about its rows: one constraint per tree column, the conjunction of the cuts
 * (or their negations) on the path from the root. Filters are evaluated against it in three-valued logic:
 * NEVER = no row the description admits can match (the node is skipped), ALWAYS = every such row matches (no
 * per-row filter needed), MAYBE otherwise. The evaluation is sound, not complete: it may answer MAYBE where a
 * finer analysis would not (that costs speed, never an answer).
 *
 * Tree columns and the rows they admit (rows that do not fit stay outside the tree, in an overflow part that
 * every query visits):
 * - `number`:  at most one number at the path and no other non-null value (missing = absent)
 * - `keyword`: at most one string at the path and no other non-null value
 * - `tags`:    any number of strings at the path and no other non-null value
 */
export type TreeColumnKind = 'number' | 'keyword' | 'tags';

export interface TreeColumn {
  /** Payload path, segments joined by '.' (parseKey). */
  readonly path: string;
  readonly kind: TreeColumnKind;
  /**
   * Every row of the tree holds a value here (number and keyword columns): rows without one do not fit the tree
   * (the overflow part). It lets a range or match on the column be complete in a leaf: without it every leaf
   * might hold rows lacking the value, for which the atom is false.
   */
  readonly required?: boolean;
}

export const NEVER = 0;
export const ALWAYS = 1;
export const MAYBE = 2;
export type Truth = typeof NEVER | typeof ALWAYS | typeof MAYBE;

/** Strings as a finite set (`finite`) or all strings but some (`finite: false`, `values` excluded). */
export interface StringSet {
  readonly finite: boolean;
  readonly values: ReadonlySet<string>;
}

export type ColumnConstraint =
  | { readonly kind: 'number'; readonly values: NumberSet; readonly absent: boolean }
  | { readonly kind: 'keyword'; readonly values: StringSet; readonly absent: boolean }
  /** Rows whose set meets each of `anyOf` and misses `none`. */
  | { readonly kind: 'tags'; readonly anyOf: readonly ReadonlySet<string>[]; readonly none: ReadonlySet<string> };

export type Description = ReadonlyMap<string, ColumnConstraint>;

/** A cut: the test that splits a node's rows; rows passing it go left. */
export type Cut =
  | { readonly kind: 'number'; readonly path: string; readonly values: NumberSet }
  | { readonly kind: 'keyword' | 'tags'; readonly path: string; readonly values: ReadonlySet<string> };

const ALL_STRINGS: StringSet = { finite: false, values: new Set() };

export function unconstrained(column: TreeColumn): ColumnConstraint {
  switch (column.kind) {
    case 'number':
      return { kind: 'number', values: ALL_NUMBERS, absent: column.required !== true };
    case 'keyword':
      return { kind: 'keyword', values: ALL_STRINGS, absent: column.required !== true };
    case 'tags':
      return { kind: 'tags', anyOf: [], none: new Set() };
  }
}

export function rootDescription(columns: readonly TreeColumn[]): Description {
  return new Map(columns.map((c) => [c.path, unconstrained(c)]));
}

function stringIntersect(a: StringSet, b: StringSet): StringSet {
  if (a.finite && b.finite) return { finite: true, values: new Set([...a.values].filter((v) => b.values.has(v))) };
  if (a.finite) return { finite: true, values: new Set([...a.values].filter((v) => !b.values.has(v))) };
  if (b.finite) return stringIntersect(b, a);
  return { finite: false, values: new Set([...a.values, ...b.values]) };
}

function stringComplement(a: StringSet): StringSet {
  return { finite: !a.finite, values: a.values };
}

function stringIsEmpty(a: StringSet): boolean {
  return a.finite && a.values.size === 0;
}

function stringIsSubset(a: StringSet, b: StringSet): boolean {
  return stringIsEmpty(stringIntersect(a, stringComplement(b)));
}

/** The description of one side of a cut. */
export function refine(description: Description, cut: Cut, passes: boolean): Description {
  const current = description.get(cut.path);
  if (current === undefined || current.kind !== cut.kind) throw new Error(`cut on ${cut.path} is not a tree column`);
  const out = new Map(description);
  switch (current.kind) {
    case 'number': {
      const t = (cut as { values: NumberSet }).values;
      out.set(cut.path, {
        kind: 'number',
        values: passes ? intersect(current.values, t) : subtract(current.values, t),
        absent: passes ? false : current.absent,
      });
      break;
    }
    case 'keyword': {
      const t: StringSet = { finite: true, values: cut.values as ReadonlySet<string> };
      out.set(cut.path, {
        kind: 'keyword',
        values: stringIntersect(current.values, passes ? t : stringComplement(t)),
        absent: passes ? false : current.absent,
      });
      break;
    }
    case 'tags': {
      const v = cut.values as ReadonlySet<string>;
      out.set(
        cut.path,
        passes
          ? { kind: 'tags', anyOf: [...current.anyOf, v], none: current.none }
          : { kind: 'tags', anyOf: current.anyOf, none: new Set([...current.none, ...v]) },
      );
      break;
    }
  }
  return out;
}

/** Whether the description admits no row at all. */
export function isEmptyDescription(description: Description): boolean {
  for (const c of description.values()) {
    if (c.kind === 'number' && c.values.length === 0 && !c.absent) return true;
    if (c.kind === 'keyword' && stringIsEmpty(c.values) && !c.absent) return true;
    if (c.kind === 'tags' && c.anyOf.some((set) => [...set].every((v) => c.none.has(v)))) return true;
  }
  return false;
}

/** Whether a row (its values at the tree columns) passes a cut. The row must fit the column's kind. */
export function passesCut(cut: Cut, value: number | string | readonly string[] | undefined): boolean {
  if (value === undefined) return false;
  switch (cut.kind) {
    case 'number':
      return typeof value === 'number' && contains(cut.values, value);
    case 'keyword':
      return typeof value === 'string' && cut.values.has(value);
    case 'tags':
      return Array.isArray(value) && value.some((v) => cut.values.has(v));
  }
}

export function boundsSet(b: RangeBounds): NumberSet {
  const lo = b.gt ?? b.gte ?? -Infinity;
  const hi = b.lt ?? b.lte ?? Infinity;
  // both gt and gte (or lt and lte) given: the stricter one holds
  const withLo =
    b.gt !== undefined && b.gte !== undefined
      ? intersect(interval(b.gt, Infinity, true, true), interval(b.gte, Infinity, false, true))
      : interval(lo, Infinity, b.gt !== undefined, true);
  const withHi =
    b.lt !== undefined && b.lte !== undefined
      ? intersect(interval(-Infinity, b.lt, true, true), interval(-Infinity, b.lte, true, false))
      : interval(-Infinity, hi, true, b.lt !== undefined);
  return intersect(withLo, withHi);
}

/**
 * The truth of a row atom whose truth set on the column's single value is `t` (a present value in `t`), for
 * every row the constraint admits.
 */
function numberTruth(c: { values: NumberSet; absent: boolean }, t: NumberSet): Truth {
  if (!overlaps(c.values, t)) return NEVER;
  return !c.absent && isSubset(c.values, t) ? ALWAYS : MAYBE;
}

function keywordTruth(c: { values: StringSet; absent: boolean }, t: StringSet): Truth {
  if (stringIsEmpty(stringIntersect(c.values, t))) return NEVER;
  return !c.absent && stringIsSubset(c.values, t) ? ALWAYS : MAYBE;
}

/** Atom "the row's set meets `v`". */
function tagsTruth(
  c: { anyOf: readonly ReadonlySet<string>[]; none: ReadonlySet<string> },
  v: readonly string[],
): Truth {
  if (v.every((x) => c.none.has(x))) return NEVER;
  const wanted = new Set(v);
  for (const set of c.anyOf) if ([...set].every((x) => c.none.has(x) || wanted.has(x))) return ALWAYS;
  return MAYBE;
}

function stringsOf(values: readonly unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string');
}

function numbersOf(values: readonly unknown[]): number[] {
  return values.filter((v): v is number => typeof v === 'number');
}

/**
 * What an atom tests, worked out once per condition object: its column path and truth sets. Routing and the
 * tree build evaluate the same workload atoms against many descriptions (every cut of every node), and
 * rebuilding the sets each time was most of the build's cost.
 */
interface AtomSets {
  readonly path: string;
  readonly numbers: NumberSet | null;
  readonly strings: StringSet | null;
  readonly tags: readonly string[];
}
const atomSets = new WeakMap<Condition, AtomSets>();

function setsOf(condition: Condition & { path: readonly string[] }): AtomSets {
  let sets = atomSets.get(condition);
  if (sets !== undefined) return sets;
  const path = condition.path.join('.');
  switch (condition.kind) {
    case 'match': {
      const strings = stringsOf(condition.values);
      sets = {
        path,
        numbers: points(numbersOf(condition.values)),
        strings: { finite: true, values: new Set(strings) },
        tags: strings,
      };
      break;
    }
    case 'except':
      sets = {
        path,
        numbers: complement(points(numbersOf(condition.values))),
        strings: { finite: false, values: new Set(stringsOf(condition.values)) },
        tags: [],
      };
      break;
    case 'range':
      sets = { path, numbers: condition.datetime ? null : boundsSet(condition.bounds), strings: null, tags: [] };
      break;
    default:
      sets = { path, numbers: null, strings: null, tags: [] };
  }
  atomSets.set(condition, sets);
  return sets;
}

function atomTruth(condition: Condition, description: Description): Truth {
  if (!('path' in condition)) return MAYBE;
  const kind = condition.kind;
  if (kind !== 'match' && kind !== 'except' && kind !== 'range') return MAYBE;
  const sets = setsOf(condition);
  const c = description.get(sets.path);
  if (c === undefined) return MAYBE;
  switch (kind) {
    case 'match':
      if (c.kind === 'number') return numberTruth(c, sets.numbers!);
      if (c.kind === 'keyword') return keywordTruth(c, sets.strings!);
      return tagsTruth(c, sets.tags);
    case 'except':
      // true when the value is present and not excluded
      if (c.kind === 'number') return numberTruth(c, sets.numbers!);
      if (c.kind === 'keyword') return keywordTruth(c, sets.strings!);
      return MAYBE;
    case 'range':
      // a datetime range reads strings, which a number column's rows do not hold
      if (c.kind === 'number') return sets.numbers === null ? NEVER : numberTruth(c, sets.numbers);
      return MAYBE;
  }
}

/** Three-valued truth of a filter over every row a description admits (Kleene logic over the atoms). */
export function truthOf(condition: Condition, description: Description): Truth {
  switch (condition.kind) {
    case 'const':
      return condition.value ? ALWAYS : NEVER;
    case 'and': {
      let result: Truth = ALWAYS;
      for (const item of condition.items) {
        const t = truthOf(item, description);
        if (t === NEVER) return NEVER;
        if (t === MAYBE) result = MAYBE;
      }
      return result;
    }
    case 'or': {
      let result: Truth = NEVER;
      for (const item of condition.items) {
        const t = truthOf(item, description);
        if (t === ALWAYS) return ALWAYS;
        if (t === MAYBE) result = MAYBE;
      }
      return result;
    }
    case 'not': {
      const t = truthOf(condition.item, description);
      return t === MAYBE ? MAYBE : t === ALWAYS ? NEVER : ALWAYS;
    }
    case 'min_should': {
      let always = 0;
      let maybe = 0;
      for (const item of condition.items) {
        const t = truthOf(item, description);
        if (t === ALWAYS) always++;
        else if (t === MAYBE) maybe++;
      }
      if (always >= condition.min) return ALWAYS;
      return always + maybe < condition.min ? NEVER : MAYBE;
    }
    default:
      return atomTruth(condition, description);
  }
}
