import type { ColumnConstraint, Cut, Description, TreeColumn, TreeColumnKind } from './description.js';
import type { Interval, NumberSet } from './number-set.js';
import type { PartitionTree, TreeNode } from './tree.js';

/**
 * A partition tree as plain JSON (kept in SQLite and sent to workers): infinite interval ends become null, string
 * sets sorted arrays. decodeTree checks the shape, so a damaged row is refused instead of routing wrongly.
 */
type IntervalJson = [number | null, number | null, boolean, boolean];
type CutJson =
  | { kind: 'number'; path: string; values: IntervalJson[] }
  | { kind: 'keyword' | 'tags'; path: string; values: string[] };
type NodeJson = { leaf: number; rows: number } | { cut: CutJson; left: NodeJson; right: NodeJson; rows: number };
export interface TreeJson {
  columns: { path: string; kind: TreeColumnKind; required?: boolean }[];
  root: NodeJson;
  leaves: number;
}

export function encodeTree(tree: PartitionTree): TreeJson {
  const node = (n: TreeNode): NodeJson =>
    'leaf' in n
      ? { leaf: n.leaf, rows: n.rows }
      : { cut: encodeCut(n.cut), left: node(n.left), right: node(n.right), rows: n.rows };
  return {
    columns: tree.columns.map((c) => ({ path: c.path, kind: c.kind, ...(c.required ? { required: true } : {}) })),
    root: node(tree.root),
    leaves: tree.leaves,
  };
}

function encodeCut(cut: Cut): CutJson {
  if (cut.kind === 'number') {
    return {
      kind: 'number',
      path: cut.path,
      values: cut.values.map((i) => [finiteOrNull(i.lo), finiteOrNull(i.hi), i.loOpen, i.hiOpen]),
    };
  }
  return { kind: cut.kind, path: cut.path, values: [...cut.values].sort() };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function decodeTree(json: unknown): PartitionTree {
  const t = json as TreeJson;
  if (t === null || typeof t !== 'object' || !Array.isArray(t.columns) || !Number.isInteger(t.leaves))
    throw new TypeError('not a partition tree');
  const columns: TreeColumn[] = t.columns.map((c) => {
    if (typeof c?.path !== 'string' || !['number', 'keyword', 'tags'].includes(c.kind))
      throw new TypeError('bad tree column');
    return c.required === true ? { path: c.path, kind: c.kind, required: true } : { path: c.path, kind: c.kind };
  });
  const kinds = new Map(columns.map((c) => [c.path, c.kind]));
  const seen = new Set<number>();
  const node = (n: NodeJson): TreeNode => {
    if (n !== null && typeof n === 'object' && 'leaf' in n) {
      if (!Number.isInteger(n.leaf) || n.leaf < 0 || n.leaf >= t.leaves || seen.has(n.leaf))
        throw new TypeError(`bad leaf ${String(n.leaf)}`);
      seen.add(n.leaf);
      return { leaf: n.leaf, rows: n.rows };
    }
    if (n === null || typeof n !== 'object' || !('cut' in n)) throw new TypeError('bad tree node');
    return { cut: decodeCut(n.cut, kinds), left: node(n.left), right: node(n.right), rows: n.rows };
  };
  const root = node(t.root);
  if (seen.size !== t.leaves) throw new TypeError(`tree lists ${t.leaves} leaves, has ${seen.size}`);
  return { columns, root, leaves: t.leaves };
}

function decodeCut(cut: CutJson, kinds: ReadonlyMap<string, TreeColumnKind>): Cut {
  if (kinds.get(cut?.path) !== cut?.kind || !Array.isArray(cut.values)) throw new TypeError('bad tree cut');
  if (cut.kind === 'number') {
    const values: NumberSet = cut.values.map(
      ([lo, hi, loOpen, hiOpen]): Interval => ({ lo: lo ?? -Infinity, hi: hi ?? Infinity, loOpen, hiOpen }),
    );
    return { kind: 'number', path: cut.path, values };
  }
  return { kind: cut.kind, path: cut.path, values: new Set(cut.values) };
}

/** A leaf's description for people: the constraints that narrow it, joined by AND ("all rows" at the root). */
export function describeLeaf(description: Description): string {
  const parts: string[] = [];
  for (const [path, c] of description) {
    const text = describeConstraint(path, c);
    if (text !== null) parts.push(text);
  }
  return parts.length === 0 ? 'all rows' : parts.join(' AND ');
}

function describeConstraint(path: string, c: ColumnConstraint): string | null {
  const list = (values: Iterable<string>) => `{${[...values].sort().join(', ')}}`;
  switch (c.kind) {
    case 'number': {
      const all = c.values.length === 1 && c.values[0]!.lo === -Infinity && c.values[0]!.hi === Infinity;
      if (all && c.absent) return null;
      const set = c.values.map(intervalText).join(' ∪ ') || '∅';
      return c.absent ? `(${path} in ${set} or absent)` : `${path} in ${set}`;
    }
    case 'keyword': {
      if (!c.values.finite && c.values.values.size === 0 && c.absent) return null;
      const set = c.values.finite ? `${path} in ${list(c.values.values)}` : `${path} not in ${list(c.values.values)}`;
      return c.absent ? `(${set} or absent)` : set;
    }
    case 'tags': {
      const parts = c.anyOf.map((s) => `${path} has any of ${list(s)}`);
      if (c.none.size > 0) parts.push(`${path} has none of ${list(c.none)}`);
      return parts.length === 0 ? null : parts.join(' AND ');
    }
  }
}

function intervalText(i: Interval): string {
  if (i.lo === i.hi) return String(i.lo);
  const lo = i.lo === -Infinity ? '(-∞' : `${i.loOpen ? '(' : '['}${i.lo}`;
  const hi = i.hi === Infinity ? '∞)' : `${i.hi}${i.hiOpen ? ')' : ']'}`;
  return `${lo}, ${hi}`;
}
