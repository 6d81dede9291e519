import type { HnswGraph, HnswLayer } from './graph.js';

/**
 * The HNSW graph as one little-endian byte range, decoded into views without copying (the buffer may be a
 * SharedArrayBuffer that every worker maps). Every section starts 4-byte aligned.
 *
 *   header  u32 magic 'SHNW' (bytes 53 48 4E 57), u32 version = 1, u32 count, u32 m, u32 efConstruct,
 *           i32 entryPoint, u32 maxLevel, u32 layerCount (= maxLevel + 1),
 *           then per layer: u32 rows, u32 neighborCount
 *   levels  u8[count], zero-padded to 4 bytes
 *   layers  per layer: [u32 nodes[rows] (layers >= 1)], u32 offsets[rows + 1], u32 neighbors[neighborCount]
 */
export const HNSW_MAGIC = 0x574e4853; // 'SHNW' read as a little-endian u32
export const HNSW_FORMAT_VERSION = 1;

const FIXED_HEADER_BYTES = 32;
/** A level is a u8, so there are at most 256 layers. */
const MAX_LAYERS = 256;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const align4 = (n: number): number => (n + 3) & ~3;

/** Bytes encodeHnswInto writes for this graph. */
export function hnswByteLength(graph: HnswGraph): number {
  let bytes = FIXED_HEADER_BYTES + 8 * graph.layers.length + align4(graph.count);
  graph.layers.forEach((layer, level) => {
    const rows = layer.offsets.length - 1;
    bytes += 4 * ((level > 0 ? rows : 0) + rows + 1 + layer.neighbors.length);
  });
  return bytes;
}

/** Encodes into a fresh ArrayBuffer of exactly hnswByteLength(graph) bytes. */
export function encodeHnsw(graph: HnswGraph): ArrayBuffer {
  const buffer = new ArrayBuffer(hnswByteLength(graph));
  encodeHnswInto(graph, buffer, 0);
  return buffer;
}

/** Encodes at `byteOffset` (a multiple of 4) of `target`; returns the bytes written. */
export function encodeHnswInto(graph: HnswGraph, target: ArrayBuffer | SharedArrayBuffer, byteOffset = 0): number {
  const total = hnswByteLength(graph);
  if (byteOffset % 4 !== 0) throw new RangeError(`HNSW byteOffset must be a multiple of 4, got ${byteOffset}`);
  if (byteOffset + total > target.byteLength)
    throw new RangeError(`HNSW encoding needs ${total} bytes at ${byteOffset}, target has ${target.byteLength}`);
  const { layers } = graph;
  if (layers.length !== graph.maxLevel + 1)
    throw new RangeError(`graph has ${layers.length} layers but maxLevel ${graph.maxLevel}`);
  const view = new DataView(target, byteOffset, total);
  const header = [HNSW_MAGIC, HNSW_FORMAT_VERSION, graph.count, graph.m, graph.efConstruct];
  header.forEach((value, i) => {
    view.setUint32(4 * i, value, true);
  });
  view.setInt32(20, graph.entryPoint, true);
  view.setUint32(24, graph.maxLevel, true);
  view.setUint32(28, layers.length, true);
  layers.forEach((layer, level) => {
    view.setUint32(FIXED_HEADER_BYTES + 8 * level, layer.offsets.length - 1, true);
    view.setUint32(FIXED_HEADER_BYTES + 8 * level + 4, layer.neighbors.length, true);
  });
  let at = FIXED_HEADER_BYTES + 8 * layers.length;
  const levelBytes = new Uint8Array(target, byteOffset + at, align4(graph.count));
  levelBytes.set(graph.levels);
  levelBytes.fill(0, graph.count);
  at += levelBytes.length;
  const writeU32 = (values: Uint32Array): void => {
    if (LITTLE_ENDIAN_HOST) new Uint32Array(target, byteOffset + at, values.length).set(values);
    else for (let i = 0; i < values.length; i++) view.setUint32(at + 4 * i, values[i]!, true);
    at += 4 * values.length;
  };
  layers.forEach((layer, level) => {
    if (level > 0) {
      if (layer.nodes === undefined) throw new RangeError(`HNSW layer ${level} has no node list`);
      writeU32(layer.nodes);
    }
    writeU32(layer.offsets);
    writeU32(layer.neighbors);
  });
  return total;
}

/**
 * Decodes a graph written by encodeHnswInto. The big arrays are views into `buffer` (no copy), so the buffer must
 * stay unchanged while the graph is in use. Throws RangeError on a wrong magic or version, a truncated buffer or
 * inconsistent lengths.
 */
export function decodeHnsw(buffer: ArrayBuffer | SharedArrayBuffer, byteOffset = 0): HnswGraph {
  if (!LITTLE_ENDIAN_HOST) throw new RangeError('HNSW decoding needs a little-endian host');
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0)
    throw new RangeError(`HNSW byteOffset must be a non-negative multiple of 4, got ${byteOffset}`);
  const available = buffer.byteLength - byteOffset;
  if (available < FIXED_HEADER_BYTES)
    throw new RangeError(
      `HNSW buffer truncated: header needs ${FIXED_HEADER_BYTES} bytes, ${Math.max(0, available)} left`,
    );
  const view = new DataView(buffer, byteOffset);
  const magic = view.getUint32(0, true);
  if (magic !== HNSW_MAGIC)
    throw new RangeError(`not an HNSW graph: bad magic 0x${magic.toString(16).padStart(8, '0')}`);
  const version = view.getUint32(4, true);
  if (version !== HNSW_FORMAT_VERSION)
    throw new RangeError(`unsupported HNSW format version ${version} (expected ${HNSW_FORMAT_VERSION})`);
  const count = view.getUint32(8, true);
  const m = view.getUint32(12, true);
  const efConstruct = view.getUint32(16, true);
  const entryPoint = view.getInt32(20, true);
  const maxLevel = view.getUint32(24, true);
  const layerCount = view.getUint32(28, true);
  if (layerCount !== maxLevel + 1 || layerCount > MAX_LAYERS)
    throw new RangeError(`corrupt HNSW header: ${layerCount} layers for maxLevel ${maxLevel}`);
  if (entryPoint < -1 || entryPoint >= count || (entryPoint === -1) !== (count === 0))
    throw new RangeError(`corrupt HNSW header: entry point ${entryPoint} for ${count} nodes`);
  const headerBytes = FIXED_HEADER_BYTES + 8 * layerCount;
  if (available < headerBytes)
    throw new RangeError(`HNSW buffer truncated: header needs ${headerBytes} bytes, ${available} left`);

  let total = align4(headerBytes + count);
  for (let level = 0; level < layerCount; level++) {
    const rows = view.getUint32(FIXED_HEADER_BYTES + 8 * level, true);
    const links = view.getUint32(FIXED_HEADER_BYTES + 8 * level + 4, true);
    if (level === 0 ? rows !== count : rows > count)
      throw new RangeError(`corrupt HNSW header: layer ${level} has ${rows} rows for ${count} nodes`);
    total += 4 * ((level > 0 ? rows : 0) + rows + 1 + links);
  }
  if (available < total) throw new RangeError(`HNSW buffer truncated: graph needs ${total} bytes, ${available} left`);

  const levels = new Uint8Array(buffer, byteOffset + headerBytes, count);
  let at = byteOffset + align4(headerBytes + count);
  const take = (length: number): Uint32Array => {
    const array = new Uint32Array(buffer, at, length);
    at += 4 * length;
    return array;
  };
  const layers: HnswLayer[] = [];
  for (let level = 0; level < layerCount; level++) {
    const rows = view.getUint32(FIXED_HEADER_BYTES + 8 * level, true);
    const links = view.getUint32(FIXED_HEADER_BYTES + 8 * level + 4, true);
    const nodes = level > 0 ? take(rows) : undefined;
    const offsets = take(rows + 1);
    const neighbors = take(links);
    if (offsets[0] !== 0 || offsets[rows] !== links)
      throw new RangeError(`corrupt HNSW layer ${level}: offsets do not span its ${links} neighbours`);
    layers.push(nodes === undefined ? { offsets, neighbors } : { nodes, offsets, neighbors });
  }
  return { count, m, efConstruct, entryPoint, maxLevel, levels, layers };
}
