/**
 * HQI layout (ALGORITHMS.md §1): a partition tree per collection and sealed segments that each hold one leaf.
 * A partition job assigns rows to leaves on the pool (a new tree for a re-partitioning, the live tree for rows
 * sealed under it), copies each leaf's rows into new segments (HNSW, or flat below `flatLeafRows`), writes their
 * files, and commits all of them with the tree in one catalog transaction (catalog.commitPartition).
 */
import { DEAD_ROW, OVERFLOW_LEAF, type TreeRequest } from '../index-engine/hqi/assign.js';
import type { TreeColumn } from '../index-engine/hqi/description.js';
import type { WorkloadQuery } from '../index-engine/hqi/tree.js';
import { decodeTree, type TreeJson } from '../index-engine/hqi/tree-codec.js';
import { lookup, parseKey } from '../index-engine/index.js';
import type { PartitionResult } from '../workers/protocol.js';
import type { Catalog } from './catalog.js';
import type { Collection, MergeCopy, PartitionLayout, RowRef, SegmentIndex } from './collection.js';
import { encodePointId } from './point-id.js';
import type { Segment } from './segment.js';

export { DEFAULT_FLAT_LEAF_ROWS } from './collection.js';
/**
 * Default leaf budget. Every leaf a query visits costs a planner pass, a filter listing and a top-k of its own, and
 * once keyword lists made filters cheap that fixed cost outweighed what finer pruning saves: on hybrid-workload
 * (100k points, bench:hqi, one run each, load 3-6) 8 leaves served batches at 667-821 QPS and single searches at
 * 451, 16 leaves at 635-661 / 442, 64 leaves at 482-582 / 107; unseen predicates 699-948 / 627-657 / 457-536.
 */
export const DEFAULT_MAX_LEAVES = 8;
export const MAX_LEAVES = 1_024;
/** Candidate cuts per column the greedy build weighs (tree.ts limitCuts). */
const MAX_CUTS_PER_COLUMN = 48;
/** Rows sampled to decide whether a keyword index holds single values or tag sets. */
const KIND_SAMPLE_ROWS = 4_096;

export type PartitionJobState = 'idle' | 'building' | 'done' | 'failed';

/** What a re-partitioning was asked to do (POST /collections/{name}/partitioning). */
export interface PartitionRequest {
  /** The tree's candidate columns (treeColumnsOf, read when the request was made). */
  readonly columns: readonly TreeColumn[];
  readonly workload: readonly WorkloadQuery[];
  /** The workload's predicate templates (query-template.ts), kept with the tree. */
  readonly templates: readonly string[];
  readonly minLeafRows: number;
  readonly maxLeaves: number;
  readonly flatLeafRows: number;
}

/** The job state GET /partitioning shows; one per collection, in memory (a restart shows the live tree, idle). */
export class PartitionStatus {
  state: PartitionJobState = 'idle';
  progress = 0;
  error: string | null = null;
  /** A re-partitioning waiting for the optimizer to take it (it waits for the collection's running jobs). */
  request: PartitionRequest | null = null;
  /** Settles when the job asked for ends (POST ?wait=true). */
  private waiters: (() => void)[] = [];

  begin(): void {
    this.state = 'building';
    this.progress = 0;
    this.error = null;
  }

  finish(error: string | null): void {
    this.state = error === null ? 'done' : 'failed';
    this.progress = error === null ? 1 : this.progress;
    this.error = error;
    this.request = null;
    for (const w of this.waiters.splice(0)) w();
  }

  ended(): Promise<void> {
    if (this.state !== 'building') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Tree columns from the collection's payload indexes: integer and float fields are number columns, keyword and
 * uuid fields keyword columns, or tag-set columns when sampled rows hold lists there. Other kinds (bool,
 * datetime) are not cut on; filters on them still route correctly, to every leaf they cannot rule out.
 */
export function treeColumnsOf(collection: Collection): TreeColumn[] {
  const columns: TreeColumn[] = [];
  for (const [field, schema] of collection.payloadIndexes) {
    const path = parseKey(field);
    if (schema === 'integer' || schema === 'float') columns.push({ path: path.join('.'), kind: 'number' });
    else if (schema === 'keyword' || schema === 'uuid') {
      let lists = false;
      let seen = 0;
      for (const { segment, offset } of collection.liveRows()) {
        if (seen++ >= KIND_SAMPLE_ROWS) break;
        if (lookup(segment.payload(offset), path).some(Array.isArray)) {
          lists = true;
          break;
        }
      }
      columns.push({ path: path.join('.'), kind: lists ? 'tags' : 'keyword' });
    }
  }
  return columns;
}

export function treeRequest(request: PartitionRequest): TreeRequest {
  return {
    columns: request.columns,
    workload: request.workload,
    options: { minLeafRows: request.minLeafRows, maxLeaves: request.maxLeaves, maxCutsPerColumn: MAX_CUTS_PER_COLUMN },
  };
}

/** The catalog's tree row: the tree's JSON plus the workload templates it was built for. */
export type StoredTree = TreeJson & { readonly templates?: readonly string[] };

export function layoutOf(version: number, json: StoredTree, builtAt: string): PartitionLayout {
  return { version, tree: decodeTree(json), json, builtAt, templates: new Set(json.templates ?? []) };
}

/** The rows of one output segment: a leaf (null: the overflow part) and its rows. */
interface OutputRows {
  readonly leaf: number | null;
  readonly rows: RowRef[];
}

/**
 * Groups the sources' rows by their leaf marks, in leaf order (overflow last), each leaf cut into segments of
 * at most `maxRows`. Rows marked dead are left out (deleted before the assignment).
 */
export function outputsOf(
  sources: readonly Segment[],
  marks: PartitionResult['leaves'],
  maxRows: number,
): OutputRows[] {
  const byLeaf = new Map<number, RowRef[]>();
  sources.forEach((segment, i) => {
    const leaves = marks[i]!;
    for (let offset = 0; offset < segment.count; offset++) {
      const mark = leaves[offset]!;
      if (mark === DEAD_ROW) continue;
      const key = mark === OVERFLOW_LEAF ? Number.MAX_SAFE_INTEGER : mark;
      const rows = byLeaf.get(key) ?? [];
      if (rows.length === 0) byLeaf.set(key, rows);
      rows.push({ segment, offset });
    }
  });
  const out: OutputRows[] = [];
  for (const key of [...byLeaf.keys()].sort((a, b) => a - b)) {
    const rows = byLeaf.get(key)!;
    const leaf = key === Number.MAX_SAFE_INTEGER ? null : key;
    for (let from = 0; from < rows.length; from += maxRows) out.push({ leaf, rows: rows.slice(from, from + maxRows) });
  }
  return out;
}

export interface PartitionJobDeps {
  readonly catalog: Catalog;
  /** Builds a segment's graph (and SQ8 codes) on the pool. */
  readonly buildIndex: (segment: Segment) => Promise<SegmentIndex>;
  /** Writes a built segment's files durably into its directory, its placement in the manifest. */
  readonly writeFiles: (
    segment: Segment,
    segmentId: number,
    index: SegmentIndex,
    placement: { treeVersion: number; leaf: number | null },
  ) => Promise<void>;
  readonly onProgress: (fraction: number) => void;
}

/**
 * Rewrites `sources` into per-leaf segments and commits them. `tree` is the new tree of a re-partitioning (its
 * version replaces the live one in the same transaction) or null to place rows under the live tree. Returns the
 * segment ids it built (the caller drops them if this throws before the commit).
 */
export async function rewriteByLeaf(
  collection: Collection,
  sources: readonly Segment[],
  assignment: PartitionResult,
  newTree: { version: number; json: StoredTree; builtAt: string } | null,
  flatLeafRows: number,
  deps: PartitionJobDeps,
  built: number[],
): Promise<void> {
  const version = newTree?.version ?? collection.partition?.version;
  if (version === undefined) throw new Error('no partition tree to place rows under');
  const outputs = outputsOf(sources, assignment.leaves, collection.maxSegmentRows);
  const made: { copy: MergeCopy; segmentId: number; index: SegmentIndex; leaf: number | null }[] = [];
  for (const [i, out] of outputs.entries()) {
    const copy = collection.copyRows(out.rows, sources);
    const segmentId = deps.catalog.beginSegment(collection.id, copy.segment.count);
    built.push(segmentId);
    const index: SegmentIndex =
      copy.segment.count < flatLeafRows ? { graph: null, sq8: null } : await deps.buildIndex(copy.segment);
    await deps.writeFiles(copy.segment, segmentId, index, { treeVersion: version, leaf: out.leaf });
    made.push({ copy, segmentId, index, leaf: out.leaf });
    deps.onProgress((i + 1) / outputs.length);
  }
  const replaced = sources.flatMap((s) => (s.sealedId === null ? [] : [s.sealedId]));
  await collection.commitRewrite(made, sources, (perOutput) => {
    deps.catalog.commitPartition(
      collection.id,
      version,
      newTree === null ? null : { json: JSON.stringify(newTree.json), createdAt: newTree.builtAt },
      made.map((m, i) => ({
        segmentId: m.segmentId,
        leaf: m.leaf,
        absorbed: perOutput[i]!.absorbed.map(encodePointId),
        deadRows: perOutput[i]!.dead,
      })),
      replaced,
    );
    for (const m of made) {
      // the overflow part (leaf null) is placed too: it is visited by every query, but not placed again
      m.copy.segment.treeVersion = version;
      m.copy.segment.leaf = m.leaf;
    }
    if (newTree !== null) collection.partition = layoutOf(newTree.version, newTree.json, newTree.builtAt);
  });
}
