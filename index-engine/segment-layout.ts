/**
 * The in-memory layout of one segment, shared between the main thread (which appends) and the workers (which
 * read). Every buffer is a SharedArrayBuffer, so a task description carries the buffers themselves and no
 * vector is ever copied. Growing segments use growable SharedArrayBuffers: readers only look at the first
 * `count` rows, published by the writer after the row is complete.
 *
 * - memory:         a shared WebAssembly memory; float32[count * dim] row-major from vectorsByteOffset(dim)
 * - tombstones:     u32 bitset over row offsets (bit set = row deleted or replaced)
 * - payloadOffsets: u32[capacity + 1], byte range of row i is [offsets[i], offsets[i + 1])
 * - payloadBytes:   UTF-8 JSON of each row's payload, back to back
 */
import type { ColumnHandle } from './column.js';
import type { ColumnOrderOf } from './filter/column-order.js';
import type { SegmentMemory } from './kernels/wasm-api.js';

export interface SegmentHandle {
  /** Unique in this process; lets workers cache decoded payloads per segment. */
  readonly uid: number;
  readonly dim: number;
  /** Rows visible to this task (a consistent prefix). */
  readonly count: number;
  /** How many of those rows were live at dispatch (deletes after it only make results stricter). */
  readonly liveCount: number;
  /** The shared WebAssembly memory holding the vectors (kernels/memory-layout.ts), posted without a copy. */
  readonly memory: SegmentMemory;
  readonly tombstones: SharedArrayBuffer;
  readonly payloadOffsets: SharedArrayBuffer;
  readonly payloadBytes: SharedArrayBuffer;
  /** Typed columns of the collection's indexed payload fields (column.ts). */
  readonly columns: readonly ColumnHandle[];
  /** The encoded HNSW graph of a sealed segment (hnsw/format.ts), or null while it is searched flat. */
  readonly graph: SharedArrayBuffer | null;
  /** The SQ8 bundle of a sealed segment with scalar quantization (quantization/sq8-bundle.ts), or null. */
  readonly sq8: SharedArrayBuffer | null;
  /** No row will be appended (a frozen or sealed segment, with or without a graph): sorted columns stay valid. */
  readonly frozen?: boolean;
  /**
   * Names this handle's set of buffers (unique in the process): it changes whenever one of them is replaced (a
   * column added, dropped or given lists, a graph attached), so a worker that holds the handle of a shape can be
   * sent a reference instead of the buffers (workers/segment-wire.ts).
   */
  readonly shape?: number;
}

/** What a search loop reads: typed views plus a payload accessor (decoding is the caller's business). */
export interface SegmentView {
  readonly uid: number;
  readonly dim: number;
  readonly count: number;
  readonly vectors: Float32Array;
  readonly tombstones: Uint32Array;
  /** Live rows among `count`, when the caller knows it (saves a pass over the tombstones). */
  readonly liveCount?: number;
  readonly columns?: readonly ColumnHandle[];
  /** Sorted columns of an immutable segment (filter/column-order.ts), when the caller keeps them. */
  readonly columnOrder?: ColumnOrderOf | undefined;
  payload(offset: number): unknown;
}

export function isTombstoned(tombstones: Uint32Array, offset: number): boolean {
  return (Atomics.load(tombstones, offset >>> 5) & (1 << (offset & 31))) !== 0;
}

export function setTombstone(tombstones: Uint32Array, offset: number): void {
  Atomics.or(tombstones, offset >>> 5, 1 << (offset & 31));
}

export function tombstoneWords(capacity: number): number {
  return Math.ceil(capacity / 32);
}

const decoder = new TextDecoder();

/** Decodes row `offset`'s payload JSON from the arena; an empty range is an empty payload. */
export function decodePayload(handle: SegmentHandle, offset: number): Record<string, unknown> {
  return payloadAt(new Uint32Array(handle.payloadOffsets), handle.payloadBytes, offset);
}

/** Row `offset`'s payload, given the offsets (a view) and the arena. */
export function payloadAt(offsets: Uint32Array, bytes: SharedArrayBuffer, offset: number): Record<string, unknown> {
  const start = offsets[offset]!;
  const end = offsets[offset + 1]!;
  if (end <= start) return {};
  // TextDecoder cannot read shared memory directly: copy the (small) row out first.
  return JSON.parse(decoder.decode(new Uint8Array(bytes, start, end - start).slice())) as Record<string, unknown>;
}
