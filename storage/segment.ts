import { decodeHnsw } from '../index-engine/hnsw/format.js';
import { verifyHnsw } from '../index-engine/hnsw/graph.js';
import {
  type ColumnHandle,
  type ColumnKind,
  ColumnWriter,
  createSegmentMemory,
  isTombstoned,
  maxRowsPerMemory,
  pagesFor,
  payloadAt,
  rowCapacity,
  type SegmentHandle,
  type SegmentMemory,
  setTombstone,
  tombstoneWords,
  vectorsView,
  WASM_PAGE_BYTES,
} from '../index-engine/index.js';
import type { PointId } from './point-id.js';
import { SegmentFormatError } from './segment-format.js';

/** Bytes a segment may reserve for vectors and for payloads (virtual memory until used). */
export const SEGMENT_VECTOR_BYTES = 256 * 1024 * 1024;
export const SEGMENT_PAYLOAD_BYTES = 256 * 1024 * 1024;
const INITIAL_ROWS = 1024;
const INITIAL_PAYLOAD_BYTES = 64 * 1024;

let nextUid = 1;
/** Handle shapes (SegmentHandle.shape): unique in the process, like uids. */
let nextShape = 1;

/**
 * One segment in memory, in the engine's shared layout (index-engine/segment-layout.ts). The growing segment
 * takes appends until it is full, then it is frozen and a new one starts; frozen segments only change by
 * tombstones. Buffers are growable SharedArrayBuffers, so workers see appends without any copy, and a task
 * reads only the `count` rows published when it was dispatched.
 */
export class Segment {
  readonly uid = nextUid++;
  readonly dim: number;
  readonly capacity: number;
  /** External id of every row, main thread only (workers return row offsets). */
  readonly ids: PointId[] = [];
  private readonly memory: SegmentMemory;
  private readonly tombstonesBuf: SharedArrayBuffer;
  private readonly payloadOffsetsBuf: SharedArrayBuffer;
  private readonly payloadBytesBuf: SharedArrayBuffer;
  /** A view of the whole row capacity; taken again after the memory grows (old views keep their length). */
  private vectors: Float32Array;
  private readonly tombstones: Uint32Array;
  private readonly payloadOffsets: Uint32Array;
  /** Typed columns of indexed payload fields, by normalized path. */
  private readonly columns = new Map<string, ColumnWriter>();
  private payloadEnd = 0;
  private graphBuf: SharedArrayBuffer | null = null;
  private sq8Buf: SharedArrayBuffer | null = null;
  private rows = 0;
  private deleted = 0;
  /** The buffers the last handle carried, and their shape: a new shape when any of them is replaced. */
  private shaped: { readonly buffers: readonly unknown[]; readonly shape: number } | null = null;
  frozen = false;
  /** Catalog id once the segment is sealed on disk (its rows then live in its files, not in `points`). */
  sealedId: number | null = null;
  /** An optimizer job (seal, merge, vacuum) is reading this segment. */
  optimizing = false;
  /**
   * HQI: the partition tree version and leaf this sealed segment holds (every row satisfies the leaf's
   * description), or null. Queries skip it when their filter cannot match the leaf, and drop their filter when
   * the leaf implies it; a segment of an older tree, or of none, is visited by every query.
   */
  treeVersion: number | null = null;
  leaf: number | null = null;

  constructor(dim: number, maxRows: number, exactPayloadBytes?: number) {
    this.dim = dim;
    this.capacity = Math.max(1, Math.min(maxRows, Math.floor(SEGMENT_VECTOR_BYTES / (dim * 4)), maxRowsPerMemory(dim)));
    // Vectors live in a shared WebAssembly memory: workers run the SIMD kernels over it in place.
    this.memory = createSegmentMemory(dim, this.capacity, Math.min(INITIAL_ROWS, this.capacity));
    this.vectors = vectorsView(this.memory, dim, rowCapacity(this.memory, dim));
    this.tombstonesBuf = new SharedArrayBuffer(tombstoneWords(this.capacity) * 4);
    this.payloadOffsetsBuf = new SharedArrayBuffer((this.capacity + 1) * 4);
    this.payloadBytesBuf = new SharedArrayBuffer(exactPayloadBytes ?? INITIAL_PAYLOAD_BYTES, {
      maxByteLength: Math.max(exactPayloadBytes ?? 0, SEGMENT_PAYLOAD_BYTES),
    });
    this.tombstones = new Uint32Array(this.tombstonesBuf);
    this.payloadOffsets = new Uint32Array(this.payloadOffsetsBuf);
  }

  /**
   * A sealed segment loaded from its files: rows copied into shared memory once, frozen, with its graph.
   * Tombstones are applied by the caller (they live in the catalog).
   */
  static fromSealed(
    sealedId: number,
    dim: number,
    data: { vectors: Float32Array; ids: PointId[]; payloadOffsets: Uint32Array; payloadBytes: Uint8Array },
    index: { graph: Uint8Array | null; sq8: Uint8Array | null },
  ): Segment {
    const count = data.ids.length;
    const segment = new Segment(dim, Math.max(1, count), data.payloadOffsets[count]!);
    segment.growRows(count);
    segment.vectors.set(data.vectors.subarray(0, count * dim));
    segment.payloadOffsets.set(data.payloadOffsets.subarray(0, count + 1));
    new Uint8Array(segment.payloadBytesBuf).set(data.payloadBytes.subarray(0, data.payloadOffsets[count]!));
    segment.payloadEnd = data.payloadOffsets[count]!;
    segment.ids.push(...data.ids);
    segment.rows = count;
    segment.frozen = true;
    segment.sealedId = sealedId;
    segment.attachIndex(index);
    return segment;
  }

  /**
   * The index structures (encoded graph, index-engine/hnsw/format.ts; SQ8 bundle, quantization/sq8-bundle.ts)
   * move into shared memory, where workers read them without a copy.
   */
  attachIndex(index: { graph: Uint8Array | null; sq8: Uint8Array | null }): void {
    this.graphBuf = index.graph && toShared(index.graph);
    this.sq8Buf = index.sq8 && toShared(index.sq8);
  }

  /** Checks the graph's structure (links in range, layers consistent); a bad graph is a damaged file. */
  verifyGraph(file: string): void {
    if (this.graphBuf === null) return;
    try {
      const graph = decodeHnsw(this.graphBuf);
      if (graph.count !== this.rows) throw new RangeError(`graph has ${graph.count} nodes, segment ${this.rows} rows`);
      verifyHnsw(graph);
    } catch (e) {
      throw new SegmentFormatError(file, (e as Error).message);
    }
  }

  get hasGraph(): boolean {
    return this.graphBuf !== null;
  }

  /** The rows as they go into the segment files (views, no copy). */
  sealingData(): { vectors: Float32Array; ids: PointId[]; payloadOffsets: Uint32Array; payloadBytes: Uint8Array } {
    return {
      vectors: this.vectors.subarray(0, this.rows * this.dim),
      ids: this.ids,
      payloadOffsets: this.payloadOffsets.subarray(0, this.rows + 1),
      payloadBytes: new Uint8Array(this.payloadBytesBuf, 0, this.payloadEnd),
    };
  }

  get count(): number {
    return this.rows;
  }

  get liveCount(): number {
    return this.rows - this.deleted;
  }

  /** Whether a row with this many payload bytes fits; when not, the caller freezes this segment. */
  canAppend(payloadBytes: number): boolean {
    return !this.frozen && this.rows < this.capacity && this.payloadEnd + payloadBytes <= SEGMENT_PAYLOAD_BYTES;
  }

  /**
   * Adds a typed column for an indexed field and fills it from the rows already here. `codeOf` gives
   * keyword dictionary codes (the dictionary belongs to the collection).
   */
  addColumn(path: readonly string[], kind: ColumnKind, codeOf: (s: string) => number): void {
    const column = new ColumnWriter([...path], kind, this.capacity);
    for (let row = 0; row < this.rows; row++) column.set(row, this.payload(row), codeOf);
    this.columns.set(column.handle.path, column);
  }

  dropColumn(path: string): void {
    this.columns.delete(path);
  }

  /** Appends a row and returns its offset. The vector must be prepared (normalized for Cosine). */
  append(
    id: PointId,
    vector: Float32Array,
    payloadJson: Uint8Array,
    payload: () => unknown,
    codeOf: (s: string) => number,
  ): number {
    if (!this.canAppend(payloadJson.byteLength)) throw new RangeError(`segment ${this.uid} is full`);
    const row = this.rows;
    this.growRows(row + 1);
    this.vectors.set(vector, row * this.dim);
    growTo(this.payloadBytesBuf, this.payloadEnd + payloadJson.byteLength);
    new Uint8Array(this.payloadBytesBuf).set(payloadJson, this.payloadEnd);
    this.payloadEnd += payloadJson.byteLength;
    this.payloadOffsets[row + 1] = this.payloadEnd;
    if (this.columns.size > 0) {
      const value = payload();
      for (const column of this.columns.values()) column.set(row, value, codeOf);
    }
    this.ids.push(id);
    // Publish last: a task dispatched from now on may read this row.
    this.rows = row + 1;
    return row;
  }

  tombstone(offset: number): void {
    if (isTombstoned(this.tombstones, offset)) return;
    setTombstone(this.tombstones, offset);
    this.deleted++;
  }

  isLive(offset: number): boolean {
    return offset < this.rows && !isTombstoned(this.tombstones, offset);
  }

  /** Makes room for `rows` vectors, doubling the memory to keep appends amortized O(1). */
  private growRows(rows: number): void {
    const have = rowCapacity(this.memory, this.dim);
    if (have >= rows) return;
    const want = Math.min(this.capacity, Math.max(rows, 2 * have));
    this.memory.grow(pagesFor(this.dim, want) - this.memory.buffer.byteLength / WASM_PAGE_BYTES);
    this.vectors = vectorsView(this.memory, this.dim, rowCapacity(this.memory, this.dim));
  }

  /** The shared buffers plus the rows visible now: what a worker task receives. */
  handle(): SegmentHandle {
    const columns = [...this.columns.values()].map((c) => c.handle);
    return {
      uid: this.uid,
      dim: this.dim,
      count: this.rows,
      liveCount: this.rows - this.deleted,
      memory: this.memory,
      tombstones: this.tombstonesBuf,
      payloadOffsets: this.payloadOffsetsBuf,
      payloadBytes: this.payloadBytesBuf,
      columns,
      graph: this.graphBuf,
      sq8: this.sq8Buf,
      frozen: this.frozen,
      shape: this.shapeOf(columns),
    };
  }

  /** The shape of a handle with these columns: the last one's unless a buffer changed since (columns, graph, codes). */
  private shapeOf(columns: readonly ColumnHandle[]): number {
    const buffers = [this.graphBuf, this.sq8Buf, ...columns];
    const last = this.shaped;
    if (last === null || last.buffers.length !== buffers.length || last.buffers.some((b, i) => b !== buffers[i])) {
      this.shaped = { buffers, shape: nextShape++ };
    }
    return this.shaped!.shape;
  }

  /** The row's payload as stored (UTF-8 JSON), a view. */
  payloadBytesOf(offset: number): Uint8Array {
    return new Uint8Array(
      this.payloadBytesBuf,
      this.payloadOffsets[offset]!,
      this.payloadOffsets[offset + 1]! - this.payloadOffsets[offset]!,
    );
  }

  payload(offset: number): Record<string, unknown> {
    return payloadAt(this.payloadOffsets, this.payloadBytesBuf, offset);
  }

  /** A copy of the row's stored vector. */
  vector(offset: number): Float32Array {
    return this.vectors.slice(offset * this.dim, (offset + 1) * this.dim);
  }

  /**
   * The row's stored vector as a view (no copy): valid until the next append to this segment. For copying rows
   * into another segment: a copy per row is a 256-byte-or-more ArrayBuffer, malloc'd and freed only by a major
   * GC, so a merge of 20,000 rows left 5 MiB or more of malloc garbage behind.
   */
  vectorView(offset: number): Float32Array {
    return this.vectors.subarray(offset * this.dim, (offset + 1) * this.dim);
  }
}

function toShared(bytes: Uint8Array): SharedArrayBuffer {
  // a worker's build result is already shared memory of its own (workers/search-task.ts buildGraph): no copy
  if (
    bytes.buffer instanceof SharedArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength
  )
    return bytes.buffer;
  const buf = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return buf;
}

/** Grows a growable SharedArrayBuffer to at least `bytes`, doubling to keep appends amortized O(1). */
function growTo(buf: SharedArrayBuffer, bytes: number): void {
  if (buf.byteLength >= bytes) return;
  buf.grow(Math.min(buf.maxByteLength, Math.max(bytes, buf.byteLength * 2)));
}
