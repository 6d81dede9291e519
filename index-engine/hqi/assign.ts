import { cellReader, OVERFLOW } from './cells.js';
import type { TreeColumn } from './description.js';
import {
  buildPartitionTree,
  type CellValue,
  leafOf,
  type PartitionTree,
  type TreeOptions,
  type WorkloadQuery,
} from './tree.js';

/** Row marks besides leaf ids: the row fits no tree column's kind, or it is deleted. */
export const OVERFLOW_LEAF = -1;
export const DEAD_ROW = -2;

/** What the partitioner reads of a segment. */
export interface PartitionSource {
  readonly count: number;
  isLive(row: number): boolean;
  payload(row: number): unknown;
}

export interface TreeRequest {
  readonly columns: readonly TreeColumn[];
  readonly workload: readonly WorkloadQuery[];
  readonly options: TreeOptions;
}

/**
 * Builds a partition tree over the live rows of `sources` that fit the requested columns, then assigns every
 * row: its leaf, OVERFLOW_LEAF (it fits not every tree column) or DEAD_ROW, one Int32Array per source.
 */
export function buildAndAssign(
  sources: readonly PartitionSource[],
  request: TreeRequest,
): { tree: PartitionTree; leaves: Int32Array[] } {
  const read = cellReader(request.columns);
  const rows: Map<string, CellValue>[] = [];
  for (const s of sources) {
    for (let row = 0; row < s.count; row++) {
      if (!s.isLive(row)) continue;
      const cells = read(s.payload(row));
      if (cells !== OVERFLOW) rows.push(cells);
    }
  }
  const data = {
    columns: request.columns,
    count: rows.length,
    cells: new Map(request.columns.map((c) => [c.path, rows.map((r) => r.get(c.path))])),
  };
  const tree = buildPartitionTree(data, sampleWorkload(request.workload, MAX_TREE_QUERIES), request.options);
  // The tree keeps only the columns it cuts on, and a row fits or not by those alone: assign again under it
  // (what the tree's JSON assigns later, too).
  return { tree, leaves: assignRows(sources, tree) };
}

/**
 * Workload queries the greedy build weighs at most: each candidate cut of each node evaluates every reachable
 * query on both children, so 10,000 logged queries would make the build take minutes; an even sample of them
 * (weights kept) picks nearly the same cuts.
 */
export const MAX_TREE_QUERIES = 1024;

function sampleWorkload(workload: readonly WorkloadQuery[], max: number): readonly WorkloadQuery[] {
  if (workload.length <= max) return workload;
  const out: WorkloadQuery[] = [];
  for (let i = 0; i < max; i++) out.push(workload[Math.floor((i * workload.length) / max)]!);
  return out;
}

/** Assigns the rows of `sources` to the leaves of an existing tree (new rows sealed under it). */
export function assignRows(sources: readonly PartitionSource[], tree: PartitionTree): Int32Array[] {
  const read = cellReader(tree.columns);
  return sources.map((s) => {
    const out = new Int32Array(s.count);
    for (let row = 0; row < s.count; row++) {
      if (!s.isLive(row)) {
        out[row] = DEAD_ROW;
        continue;
      }
      const cells = read(s.payload(row));
      out[row] = cells === OVERFLOW ? OVERFLOW_LEAF : leafOf(tree, (path) => cells.get(path));
    }
    return out;
  });
}
