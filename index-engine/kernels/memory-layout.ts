/**
 * The layout of a segment's WebAssembly.Memory, shared by the thread that appends rows and the workers that
 * search them. The kernels (simd.wat) read both operands from this one memory, so each query is first copied
 * into a scratch slot leased for the duration of the search.
 *
 * | byte offset                       | content                                                             |
 * | --------------------------------- | ------------------------------------------------------------------- |
 * | 0                                 | SCRATCH_SLOTS Int32 lock words (0 = free, else the owner), padded   |
 * | SCRATCH_BYTE_OFFSET + s·slotBytes | slot s: query f32[dim] (padded to 16 bytes), then SCAN_BLOCK f32     |
 * | vectorsByteOffset(dim)            | rows: f32[rows · dim], row-major (64-byte aligned)                  |
 *
 * Slots are multiples of 64 bytes, so two threads never write the same cache line.
 */
import { type SegmentMemory, webAssembly } from './wasm-api.js';

/** How many searches can use the WASM kernels on one segment at the same moment; the rest use JS kernels. */
export const SCRATCH_SLOTS = 16;
/** Rows scored per scan call: the size of each slot's output block. */
export const SCAN_BLOCK = 1024;
/** Bytes of the lock-word header (SCRATCH_SLOTS × 4, padded to a cache line). */
export const SCRATCH_BYTE_OFFSET = 64;
export const WASM_PAGE_BYTES = 65536;
/** A wasm32 memory addresses at most 4 GiB. */
export const MAX_PAGES = 65536;

const FREE = 0;

function roundUp(bytes: number, multiple: number): number {
  return Math.ceil(bytes / multiple) * multiple;
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
}

/** Bytes of one scratch slot: the query, then the scan output block; a multiple of 64. */
export function slotBytes(dim: number): number {
  checkDim(dim);
  return roundUp(roundUp(dim * 4, 16) + SCAN_BLOCK * 4, 64);
}

/** Where row 0 starts (64-byte aligned): after the lock words and every scratch slot. */
export function vectorsByteOffset(dim: number): number {
  return roundUp(SCRATCH_BYTE_OFFSET + SCRATCH_SLOTS * slotBytes(dim), 64);
}

/** Byte offset of slot `slot`'s query (f32[dim]). */
export function scratchQueryPtr(dim: number, slot: number): number {
  return SCRATCH_BYTE_OFFSET + slot * slotBytes(dim);
}

/** Byte offset of slot `slot`'s output block (f32[SCAN_BLOCK]). */
export function scratchOutPtr(dim: number, slot: number): number {
  return scratchQueryPtr(dim, slot) + roundUp(dim * 4, 16);
}

/** Pages needed for the header plus `rows` rows. */
export function pagesFor(dim: number, rows: number): number {
  return Math.ceil((vectorsByteOffset(dim) + rows * dim * 4) / WASM_PAGE_BYTES);
}

/** The most rows one segment memory of this dim can ever hold (4 GiB address space). */
export function maxRowsPerMemory(dim: number): number {
  return Math.floor((MAX_PAGES * WASM_PAGE_BYTES - vectorsByteOffset(dim)) / (dim * 4));
}

/**
 * A shared memory sized for `initialRows` rows now, growable (memory.grow, by storage) up to `maxRows`. The
 * maximum is capped at 4 GiB: storage must not plan segments above maxRowsPerMemory(dim) rows. Pages are
 * committed as they are touched; on 64-bit V8 each memory also reserves about 10 GiB of address space (not RAM)
 * whatever its maximum, so a process can hold thousands of segment memories, not millions.
 */
export function createSegmentMemory(dim: number, maxRows: number, initialRows: number): SegmentMemory {
  checkDim(dim);
  if (!Number.isInteger(maxRows) || maxRows < 0) throw new RangeError(`maxRows must be an integer ≥ 0, got ${maxRows}`);
  if (!Number.isInteger(initialRows) || initialRows < 0 || initialRows > maxRows) {
    throw new RangeError(`initialRows must be an integer in [0, maxRows = ${maxRows}], got ${initialRows}`);
  }
  const limit = maxRowsPerMemory(dim);
  if (initialRows > limit) {
    throw new RangeError(`${initialRows} rows of dim ${dim} exceed one 4 GiB memory (at most ${limit} rows)`);
  }
  const maximum = Math.min(MAX_PAGES, pagesFor(dim, maxRows));
  if (webAssembly === undefined) throw new TypeError('this runtime has no WebAssembly');
  return new webAssembly.Memory({ initial: pagesFor(dim, initialRows), maximum, shared: true });
}

/** Rows [0, rows) as one Float32Array over the memory's current buffer (re-take it after memory.grow). */
export function vectorsView(memory: SegmentMemory, dim: number, rows: number): Float32Array {
  return new Float32Array(memory.buffer, vectorsByteOffset(dim), rows * dim);
}

/** Rows the memory's current buffer can hold. */
export function rowCapacity(memory: SegmentMemory, dim: number): number {
  return Math.max(0, Math.floor((memory.buffer.byteLength - vectorsByteOffset(dim)) / (dim * 4)));
}

// Per memory object: a view of the lock words and the largest buffer size seen. The header never moves, and a
// shared memory's older buffers stay valid after memory.grow, so a search reads `memory.buffer` (a slow getter on
// shared memories, 0.1-0.5 µs) only the first time it sees the memory object.
const lockViews = new WeakMap<SegmentMemory, { readonly words: Int32Array; bytes: number }>();

function lockState(memory: SegmentMemory): { readonly words: Int32Array; bytes: number } {
  let state = lockViews.get(memory);
  if (state === undefined) {
    const { buffer } = memory;
    state = { words: new Int32Array(buffer, 0, SCRATCH_SLOTS), bytes: buffer.byteLength };
    lockViews.set(memory, state);
  }
  return state;
}

function lockWords(memory: SegmentMemory): Int32Array {
  return lockState(memory).words;
}

// Threads start their probe at different slots so they rarely contend for the same word.
let probe = Math.floor(Math.random() * SCRATCH_SLOTS);

function checkOwner(owner: number): void {
  if (!Number.isInteger(owner) || owner < 1 || owner > 0x7fffffff) {
    throw new RangeError(`scratch owner must be an integer in [1, 2^31), got ${owner}`);
  }
}

/**
 * Leases a free scratch slot for one query, or returns -1 when all SCRATCH_SLOTS are busy (the caller then
 * uses the JS kernels). Every lease must be released, in a `finally`. `owner` (a positive int32, e.g. the
 * worker's threadId + 1) is stored in the lock word so that reclaimScratch can free the slots of a thread that
 * died holding them. `dim` is checked against the memory.
 */
export function leaseScratch(memory: SegmentMemory, dim: number, owner = 1): number {
  return leaseScratchRun(memory, dim, 1, owner);
}

/**
 * Leases `slots` consecutive scratch slots (the first one's index, or -1 when no such run is free): one contiguous
 * area of slots · slotBytes(dim) bytes, which the multi-query kernels use for a block of queries and their scores.
 * Release it with releaseScratchRun. A run is taken slot by slot with compare-exchange; a slot found busy gives
 * back the ones already taken, so concurrent leases never deadlock and only ever see free or owned words.
 */
export function leaseScratchRun(memory: SegmentMemory, dim: number, slots: number, owner = 1): number {
  checkOwner(owner);
  if (!Number.isInteger(slots) || slots < 1 || slots > SCRATCH_SLOTS) {
    throw new RangeError(`a scratch run holds 1..${SCRATCH_SLOTS} slots, got ${slots}`);
  }
  let state = lockViews.get(memory);
  if (state === undefined || state.bytes < vectorsByteOffset(dim)) {
    const bytes = memory.buffer.byteLength;
    if (bytes < vectorsByteOffset(dim))
      throw new RangeError(`memory of ${bytes} bytes has no scratch area for dim ${dim}`);
    state = lockState(memory);
    state.bytes = bytes;
  }
  const words = state.words;
  const starts = SCRATCH_SLOTS - slots + 1;
  const start = probe % starts;
  probe = (probe + 1) % SCRATCH_SLOTS;
  for (let i = 0; i < starts; i++) {
    const first = (start + i) % starts;
    let taken = 0;
    while (taken < slots && Atomics.compareExchange(words, first + taken, FREE, owner) === FREE) taken++;
    if (taken === slots) return first;
    for (let j = 0; j < taken; j++) Atomics.store(words, first + j, FREE);
  }
  return -1;
}

/** Returns a run leased by leaseScratchRun (every slot of it). */
export function releaseScratchRun(memory: SegmentMemory, first: number, slots: number): void {
  for (let i = 0; i < slots; i++) releaseScratch(memory, first + i);
}

/** Returns a slot leased by leaseScratch; releasing a slot that is not leased is a bug and throws. */
export function releaseScratch(memory: SegmentMemory, slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SCRATCH_SLOTS) throw new RangeError(`no scratch slot ${slot}`);
  if (Atomics.exchange(lockWords(memory), slot, FREE) === FREE) {
    throw new RangeError(`scratch slot ${slot} released but not leased`);
  }
}

/**
 * Frees every slot `owner` holds: for the pool, when a worker thread exits or is terminated mid-task (its
 * leases would otherwise stay taken, and that many searches on the segment would fall back to JS for good).
 * Returns how many slots were freed. Only call it once the owner can no longer be running.
 */
export function reclaimScratch(memory: SegmentMemory, owner: number): number {
  checkOwner(owner);
  const words = lockWords(memory);
  let freed = 0;
  for (let slot = 0; slot < SCRATCH_SLOTS; slot++) {
    if (Atomics.compareExchange(words, slot, owner, FREE) === owner) freed++;
  }
  return freed;
}
