/**
 * Sets of real numbers as sorted, disjoint, non-adjacent intervals with open or closed ends: the per-column
 * constraint of a partition-tree node on a numeric column, and the truth set of a range or match atom.
 */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
  /** lo itself is excluded. Always true when lo is -Infinity. */
  readonly loOpen: boolean;
  /** hi itself is excluded. Always true when hi is Infinity. */
  readonly hiOpen: boolean;
}

export type NumberSet = readonly Interval[];

export const ALL_NUMBERS: NumberSet = [{ lo: -Infinity, hi: Infinity, loOpen: true, hiOpen: true }];
export const NO_NUMBERS: NumberSet = [];

/** One interval, or the empty set when its bounds admit nothing. */
export function interval(lo: number, hi: number, loOpen: boolean, hiOpen: boolean): NumberSet {
  const i = { lo, hi, loOpen: loOpen || lo === -Infinity, hiOpen: hiOpen || hi === Infinity };
  return isEmptyInterval(i) ? NO_NUMBERS : [i];
}

export function points(values: readonly number[]): NumberSet {
  const sorted = [...new Set(values.filter((v) => Number.isFinite(v)))].sort((a, b) => a - b);
  return sorted.map((v) => ({ lo: v, hi: v, loOpen: false, hiOpen: false }));
}

function isEmptyInterval(i: Interval): boolean {
  return i.lo > i.hi || (i.lo === i.hi && (i.loOpen || i.hiOpen));
}

export function contains(set: NumberSet, x: number): boolean {
  for (const i of set) {
    if (x < i.lo || (x === i.lo && i.loOpen)) return false;
    if (x < i.hi || (x === i.hi && !i.hiOpen)) return true;
  }
  return false;
}

/** The complement within the reals. */
export function complement(set: NumberSet): NumberSet {
  const out: Interval[] = [];
  let lo = -Infinity;
  let loOpen = true;
  for (const i of set) {
    // the gap before this interval ends where it starts, excluded if the interval includes its start
    const gap = { lo, hi: i.lo, loOpen, hiOpen: !i.loOpen };
    if (!(gap.lo === -Infinity && i.lo === -Infinity) && !isEmptyInterval(gap)) out.push(gap);
    lo = i.hi;
    loOpen = !i.hiOpen;
  }
  if (lo !== Infinity) {
    const tail = { lo, hi: Infinity, loOpen, hiOpen: true };
    if (!isEmptyInterval(tail)) out.push(tail);
  }
  return out;
}

export function intersect(a: NumberSet, b: NumberSet): NumberSet {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const lo = Math.max(x.lo, y.lo);
    const loOpen = x.lo === y.lo ? x.loOpen || y.loOpen : x.lo > y.lo ? x.loOpen : y.loOpen;
    const hi = Math.min(x.hi, y.hi);
    const hiOpen = x.hi === y.hi ? x.hiOpen || y.hiOpen : x.hi < y.hi ? x.hiOpen : y.hiOpen;
    const piece = { lo, hi, loOpen, hiOpen };
    if (!isEmptyInterval(piece)) out.push(piece);
    // advance the interval that ends first (both when they end together)
    const xEndsFirst = x.hi < y.hi || (x.hi === y.hi && x.hiOpen && !y.hiOpen);
    const yEndsFirst = y.hi < x.hi || (x.hi === y.hi && y.hiOpen && !x.hiOpen);
    if (xEndsFirst) i++;
    else if (yEndsFirst) j++;
    else {
      i++;
      j++;
    }
  }
  return out;
}

export function subtract(a: NumberSet, b: NumberSet): NumberSet {
  return intersect(a, complement(b));
}

export function isSubset(a: NumberSet, b: NumberSet): boolean {
  return subtract(a, b).length === 0;
}

export function overlaps(a: NumberSet, b: NumberSet): boolean {
  return intersect(a, b).length > 0;
}
