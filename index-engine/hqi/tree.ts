import type { Condition } from '../filter/condition.js';
import {
  ALWAYS,
  boundsSet,
  type Cut,
  type Description,
  NEVER,
  passesCut,
  refine,
  rootDescription,
  type TreeColumn,
  truthOf,
} from './description.js';
import { interval, type NumberSet, points } from './number-set.js';

/**
 * The HQI partition tree (a qd-tree, ALGORITHMS.md §1(a)): binary cuts taken from the atoms of the logged
 * workload, chosen greedily by how many rows the workload's queries could skip, each leaf a set of rows with a
 * description (the conjunction of the cuts on its path) that routing tests queries against.
 */

/** A row's values at the tree columns: a number, a string, a list of strings, or undefined when absent. */
export type CellValue = number | string | readonly string[] | undefined;

export interface TreeData {
  readonly columns: readonly TreeColumn[];
  readonly count: number;
  /** One array of `count` cells per column path. */
  readonly cells: ReadonlyMap<string, readonly CellValue[]>;
}

export interface WorkloadQuery {
  readonly filter: Condition;
  readonly weight: number;
}

export interface TreeOptions {
  /** No leaf smaller than this (rows). */
  readonly minLeafRows: number;
  /** Stop once the tree has this many leaves. */
  readonly maxLeaves: number;
  /** Candidate cuts kept per column (candidateCuts); all when absent. */
  readonly maxCutsPerColumn?: number;
}

export type TreeNode =
  | { readonly leaf: number; readonly rows: number }
  | { readonly cut: Cut; readonly left: TreeNode; readonly right: TreeNode; readonly rows: number };

export interface PartitionTree {
  readonly columns: readonly TreeColumn[];
  readonly root: TreeNode;
  readonly leaves: number;
}

export interface RoutedLeaf {
  readonly leaf: number;
  /** Every row the leaf's description admits matches the filter: no per-row filtering needed. */
  readonly complete: boolean;
}

const cutKey = (cut: Cut): string =>
  cut.kind === 'number'
    ? `n:${cut.path}:${JSON.stringify(cut.values.map((i) => [i.lo, i.hi, i.loOpen, i.hiOpen]))}`
    : `${cut.kind[0]}:${cut.path}:${JSON.stringify([...cut.values].sort())}`;

/** Candidate cuts: each workload atom on a tree column, plus the half-lines at each range literal. */
export function candidateCuts(
  workload: readonly WorkloadQuery[],
  columns: readonly TreeColumn[],
  maxPerColumn = Number.POSITIVE_INFINITY,
): Cut[] {
  const kinds = new Map(columns.map((c) => [c.path, c.kind]));
  const cuts = new Map<string, Cut>();
  const frequency = new Map<Cut, number>();
  let weightOf = 0;
  const add = (cut: Cut) => {
    const empty = cut.kind === 'number' ? cut.values.length === 0 : cut.values.size === 0;
    if (empty) return;
    const key = cutKey(cut);
    const known = cuts.get(key) ?? cut;
    cuts.set(key, known);
    frequency.set(known, (frequency.get(known) ?? 0) + weightOf);
  };
  const visit = (c: Condition) => {
    switch (c.kind) {
      case 'and':
      case 'or':
      case 'min_should':
        for (const item of c.items) visit(item);
        return;
      case 'not':
        visit(c.item);
        return;
      case 'match': {
        const path = c.path.join('.');
        const kind = kinds.get(path);
        if (kind === 'number') add({ kind, path, values: points(c.values.filter((v) => typeof v === 'number')) });
        else if (kind !== undefined)
          add({ kind, path, values: new Set(c.values.filter((v): v is string => typeof v === 'string')) });
        return;
      }
      case 'range': {
        const path = c.path.join('.');
        if (kinds.get(path) !== 'number' || c.datetime) return;
        add({ kind: 'number', path, values: boundsSet(c.bounds) });
        const b = c.bounds;
        const below = (x: number | undefined, open: boolean): NumberSet =>
          x === undefined ? [] : interval(-Infinity, x, true, open);
        add({ kind: 'number', path, values: below(b.gt, false) });
        add({ kind: 'number', path, values: below(b.gte, true) });
        add({ kind: 'number', path, values: below(b.lt, true) });
        add({ kind: 'number', path, values: below(b.lte, false) });
        return;
      }
      default:
        return;
    }
  };
  for (const w of workload) {
    weightOf = w.weight;
    visit(w.filter);
  }
  return limitCuts([...cuts.values()], frequency, maxPerColumn);
}

/**
 * At most `max` cuts per column: every cut costs a row bitmap and a gain evaluation per node, and a workload of
 * ranges with fresh literals yields a cut per query. Number cuts are kept at evenly spaced ranks of their first
 * finite end (the literals' quantiles: nearly as good a split as any literal between them), string cuts by how
 * much workload weight names them.
 */
function limitCuts(cuts: readonly Cut[], frequency: ReadonlyMap<Cut, number>, max: number): Cut[] {
  const byPath = new Map<string, Cut[]>();
  for (const cut of cuts) {
    const list = byPath.get(cut.path) ?? [];
    list.push(cut);
    byPath.set(cut.path, list);
  }
  const out: Cut[] = [];
  for (const list of byPath.values()) {
    if (list.length <= max) {
      out.push(...list);
      continue;
    }
    if (list[0]!.kind === 'number') {
      const anchor = (c: Cut) => {
        const first = (c as { values: NumberSet }).values[0]!;
        return Number.isFinite(first.lo) ? first.lo : first.hi;
      };
      const sorted = [...list].sort((a, b) => anchor(a) - anchor(b));
      for (let i = 0; i < max; i++) out.push(sorted[Math.floor(((i + 0.5) * sorted.length) / max)]!);
    } else {
      out.push(...[...list].sort((a, b) => frequency.get(b)! - frequency.get(a)!).slice(0, max));
    }
  }
  return out;
}

interface Split {
  readonly cut: Cut;
  readonly gain: number;
  readonly balance: number;
  readonly left: Int32Array;
  readonly right: Int32Array;
}

interface Pending {
  readonly rows: Int32Array;
  readonly description: Description;
  readonly workload: readonly WorkloadQuery[];
  readonly split: Split | null;
  /** Filled in when the node is split or made a leaf. */
  node?: TreeNode;
  children?: [Pending, Pending];
}

/**
 * Builds the tree best-first: the open node whose best cut lets the workload skip the most rows is split next,
 * until no cut gains or `maxLeaves` is reached. Gain of a cut = Σ over workload queries of weight × rows in each
 * child the query provably cannot match (its filter is NEVER on the child's description).
 */
export function buildPartitionTree(
  data: TreeData,
  workload: readonly WorkloadQuery[],
  options: TreeOptions,
): PartitionTree {
  const cuts = candidateCuts(workload, data.columns, options.maxCutsPerColumn);
  // Columns no cut names stay out of the descriptions (filters on them evaluate MAYBE, as on any other
  // untracked path): every refine copies one constraint per column.
  const cutPaths = new Set(cuts.map((c) => c.path));
  // A single-valued column every row holds is required: rows placed later without a value go to the overflow
  // part, and leaves can then be complete for ranges and matches on it.
  const columns = data.columns
    .filter((c) => cutPaths.has(c.path))
    .map((c) =>
      c.kind !== 'tags' && data.count > 0 && data.cells.get(c.path)!.every((v) => v !== undefined)
        ? { ...c, required: true }
        : c,
    );
  // cut × row bitmaps, computed once: splitting a node then only counts bits over its rows
  const passes = cuts.map((cut) => {
    const cells = data.cells.get(cut.path)!;
    const bits = new Uint8Array(data.count);
    for (let r = 0; r < data.count; r++) bits[r] = passesCut(cut, cells[r]) ? 1 : 0;
    return bits;
  });

  // A cut only changes a query's truth when the query names the cut's column: the others stay reachable on both
  // sides (not NEVER), so they gain nothing and are not evaluated.
  const pathsOf = new Map(workload.map((q) => [q, conditionPaths(q.filter)]));
  const bestSplit = (rows: Int32Array, description: Description, queries: readonly WorkloadQuery[]): Split | null => {
    let best: Split | null = null;
    const byPath = new Map<string, WorkloadQuery[]>();
    for (const q of queries) {
      for (const path of pathsOf.get(q)!) {
        const list = byPath.get(path) ?? [];
        list.push(q);
        byPath.set(path, list);
      }
    }
    for (let c = 0; c < cuts.length; c++) {
      const naming = byPath.get(cuts[c]!.path);
      if (naming === undefined) continue;
      const bits = passes[c]!;
      let nLeft = 0;
      for (let i = 0; i < rows.length; i++) nLeft += bits[rows[i]!]!;
      const nRight = rows.length - nLeft;
      if (nLeft < options.minLeafRows || nRight < options.minLeafRows) continue;
      const dLeft = refine(description, cuts[c]!, true);
      const dRight = refine(description, cuts[c]!, false);
      let gain = 0;
      for (const q of naming) {
        if (truthOf(q.filter, dLeft) === NEVER) gain += q.weight * nLeft;
        if (truthOf(q.filter, dRight) === NEVER) gain += q.weight * nRight;
      }
      const balance = Math.abs(nLeft / rows.length - 0.5);
      if (gain > 0 && (best === null || gain > best.gain || (gain === best.gain && balance < best.balance))) {
        best = { cut: cuts[c]!, gain, balance, left: new Int32Array(0), right: new Int32Array(0) };
      }
    }
    if (best === null) return null;
    const bits = passes[cuts.indexOf(best.cut)]!;
    const left: number[] = [];
    const right: number[] = [];
    for (const r of rows) (bits[r] ? left : right).push(r);
    return { ...best, left: Int32Array.from(left), right: Int32Array.from(right) };
  };

  const open = (rows: Int32Array, description: Description, queries: readonly WorkloadQuery[]): Pending => {
    const reachable = queries.filter((q) => truthOf(q.filter, description) !== NEVER);
    return { rows, description, workload: reachable, split: bestSplit(rows, description, reachable) };
  };

  const all = new Int32Array(data.count);
  for (let r = 0; r < data.count; r++) all[r] = r;
  const root = open(all, rootDescription(columns), workload);
  const frontier: Pending[] = [root];
  let leaves = 1;
  while (leaves < options.maxLeaves) {
    let pick = -1;
    for (let i = 0; i < frontier.length; i++) {
      const s = frontier[i]!.split;
      if (s !== null && (pick < 0 || s.gain > frontier[pick]!.split!.gain)) pick = i;
    }
    if (pick < 0) break;
    const node = frontier.splice(pick, 1)[0]!;
    const split = node.split!;
    node.children = [
      open(split.left, refine(node.description, split.cut, true), node.workload),
      open(split.right, refine(node.description, split.cut, false), node.workload),
    ];
    frontier.push(...node.children);
    leaves++;
  }

  let nextLeaf = 0;
  const finish = (p: Pending): TreeNode => {
    if (p.children === undefined) return { leaf: nextLeaf++, rows: p.rows.length };
    return { cut: p.split!.cut, left: finish(p.children[0]), right: finish(p.children[1]), rows: p.rows.length };
  };
  const tree = finish(root);
  return { columns, root: tree, leaves: nextLeaf };
}

/** The payload paths a condition names (joined by '.'), the paths of nested filters included. */
function conditionPaths(c: Condition, out = new Set<string>()): Set<string> {
  switch (c.kind) {
    case 'and':
    case 'or':
    case 'min_should':
      for (const item of c.items) conditionPaths(item, out);
      break;
    case 'not':
      conditionPaths(c.item, out);
      break;
    case 'nested':
      out.add(c.path.join('.'));
      conditionPaths(c.filter, out);
      break;
    case 'has_id':
    case 'const':
      break;
    default:
      out.add(c.path.join('.'));
  }
  return out;
}

/** The leaf a row belongs to (its values at the tree columns). */
export function leafOf(tree: PartitionTree, row: (path: string) => CellValue): number {
  let node = tree.root;
  while (!('leaf' in node)) node = passesCut(node.cut, row(node.cut.path)) ? node.left : node.right;
  return node.leaf;
}

/** The leaves a filter can match, each marked complete when every row it admits matches. */
export function routeFilter(tree: PartitionTree, filter: Condition): RoutedLeaf[] {
  const out: RoutedLeaf[] = [];
  const walk = (node: TreeNode, description: Description) => {
    const truth = truthOf(filter, description);
    if (truth === NEVER) return;
    if ('leaf' in node) {
      out.push({ leaf: node.leaf, complete: truth === ALWAYS });
      return;
    }
    walk(node.left, refine(description, node.cut, true));
    walk(node.right, refine(description, node.cut, false));
  };
  walk(tree.root, rootDescription(tree.columns));
  return out;
}

/** Every leaf's description, by leaf id (for display and explain). */
export function leafDescriptions(tree: PartitionTree): Description[] {
  const out: Description[] = [];
  const walk = (node: TreeNode, description: Description) => {
    if ('leaf' in node) out[node.leaf] = description;
    else {
      walk(node.left, refine(description, node.cut, true));
      walk(node.right, refine(description, node.cut, false));
    }
  };
  walk(tree.root, rootDescription(tree.columns));
  return out;
}
