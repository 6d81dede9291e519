import { decodeHnsw } from '../index-engine/hnsw/format.js';
import type { HnswGraph } from '../index-engine/hnsw/graph.js';
import type { SegmentHandle } from '../index-engine/index.js';
import type { SegmentMemory } from '../index-engine/kernels/wasm-api.js';
import { decodeSq8Bundle } from '../index-engine/quantization/sq8-bundle.js';

/**
 * Decoded index structures (views over a sealed segment's shared buffers, never copies) per segment, kept
 * between tasks: a sealed segment's graph and codes never change.
 */
const MAX_ENTRIES = 256;

function cached<T>(cache: Map<number, T>, uid: number, decode: () => T): T {
  let value = cache.get(uid);
  if (value === undefined) {
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as number);
    value = decode();
    cache.set(uid, value);
  }
  return value;
}

type Sq8Bundle = ReturnType<typeof decodeSq8Bundle>;
const graphs = new Map<number, HnswGraph>();
const quantized = new Map<number, Sq8Bundle>();

const memories = new Map<number, SegmentMemory>();

/**
 * The segment's WebAssembly memory: every post delivers a new Memory object for the same shared memory, and
 * kernels are instantiated per object, so the first one seen is kept and reused.
 */
export function memoryOf(handle: SegmentHandle): SegmentMemory {
  return cached(memories, handle.uid, () => handle.memory);
}

export function graphOf(handle: SegmentHandle): HnswGraph | null {
  const buffer = handle.graph;
  return buffer === null ? null : cached(graphs, handle.uid, () => decodeHnsw(buffer));
}

export function sq8Of(handle: SegmentHandle): Sq8Bundle | null {
  const buffer = handle.sq8;
  return buffer === null ? null : cached(quantized, handle.uid, () => decodeSq8Bundle(buffer));
}
