/**
 * The SIMD kernels of simd.wat, instantiated against a segment's shared WebAssembly.Memory. The module is
 * decoded and compiled once per thread; instances are cached per memory object. Pointers are byte offsets
 * into that memory, `dim` and `count` count elements and rows.
 */
import { SIMD_MODULE_BASE64 } from './simd-module.generated.js';
import { type SegmentMemory, type WasmModule, webAssembly } from './wasm-api.js';

/** One f32 result from two pointers: f32 rows (dot, l2sq, l1) or an f32 query and int8 codes (dotI8F32). */
export type PairKernel = (aPtr: number, bPtr: number, dim: number) => number;
/** Scores `count` consecutive rows starting at basePtr and stores one f32 per row at outPtr. */
export type ScanKernel = (queryPtr: number, basePtr: number, count: number, dim: number, outPtr: number) => void;
/** Scores the `count` rows whose u32 ids are at idsPtr (row r at basePtr + r · dim · 4) into f32s at outPtr. */
export type GatherKernel = (
  queryPtr: number,
  basePtr: number,
  idsPtr: number,
  count: number,
  dim: number,
  outPtr: number,
) => void;

/**
 * Scores `count` consecutive rows starting at basePtr against the `queryCount` queries packed at queriesPtr (each
 * dim f32s, padded to a multiple of 16 bytes): row r, query q at outPtr + 4 · (r · queryCount + q). Bit-identical to
 * the pair kernel on each (query, row).
 */
export type MultiScanKernel = (
  queriesPtr: number,
  queryCount: number,
  basePtr: number,
  count: number,
  dim: number,
  outPtr: number,
) => void;
/** The rows whose u32 ids are at idsPtr against the packed queries, laid out as MultiScanKernel's output. */
export type MultiGatherKernel = (
  queriesPtr: number,
  queryCount: number,
  basePtr: number,
  idsPtr: number,
  count: number,
  dim: number,
  outPtr: number,
) => void;

export interface WasmKernels {
  readonly memory: SegmentMemory;
  /** Σ a·b in f32. */
  readonly dot: PairKernel;
  /** Σ (a − b)² in f32. */
  readonly l2sq: PairKernel;
  /** Σ |a − b| in f32. */
  readonly l1: PairKernel;
  readonly dotScan: ScanKernel;
  readonly l2sqScan: ScanKernel;
  readonly l1Scan: ScanKernel;
  readonly dotGather: GatherKernel;
  readonly l2sqGather: GatherKernel;
  readonly l1Gather: GatherKernel;
  readonly dotMultiScan: MultiScanKernel;
  readonly l2sqMultiScan: MultiScanKernel;
  readonly l1MultiScan: MultiScanKernel;
  readonly dotMultiGather: MultiGatherKernel;
  readonly l2sqMultiGather: MultiGatherKernel;
  readonly l1MultiGather: MultiGatherKernel;
  /** Σ q·code with the query in f32 and the codes int8 (rows of `dim` bytes); scale and offset are the caller's. */
  readonly dotI8F32: PairKernel;
  readonly dotI8F32Scan: ScanKernel;
}

let bytes: Uint8Array<ArrayBuffer> | null = null;
let compiled: WasmModule | null = null;
let supported: boolean | null = null;
const instances = new WeakMap<SegmentMemory, WasmKernels>();

/** The assembled module (decoded from base64 once). */
export function simdModuleBytes(): Uint8Array<ArrayBuffer> {
  if (bytes === null) {
    const binary = atob(SIMD_MODULE_BASE64);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

/**
 * Whether this runtime can run the kernels: WebAssembly with fixed-width SIMD and threads (shared memories).
 * Validates the real module (about 6 KB, once per thread) rather than a probe, so "true" means exactly that.
 */
export function wasmSimdSupported(): boolean {
  if (supported === null) {
    try {
      supported = typeof SharedArrayBuffer === 'function' && webAssembly?.validate(simdModuleBytes()) === true;
    } catch {
      supported = false;
    }
  }
  return supported;
}

function api(): NonNullable<typeof webAssembly> {
  if (webAssembly === undefined || !wasmSimdSupported()) {
    throw new TypeError('WebAssembly SIMD with shared memory is not supported here: check wasmSimdSupported()');
  }
  return webAssembly;
}

function simdModule(): WasmModule {
  if (compiled === null) compiled = new (api().Module)(simdModuleBytes());
  return compiled;
}

/**
 * The kernels bound to `memory` (a shared memory, see createSegmentMemory), cached per Memory object. Every
 * postMessage of a Memory hands the worker a new object over the same memory, so a worker should keep the
 * first object it received for a segment (by uid) and pass that one: otherwise each task pays a new
 * instantiation (about 0.1 ms).
 */
export function createWasmKernels(memory: SegmentMemory): WasmKernels {
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const { exports } = new (api().Instance)(simdModule(), { env: { memory } });
    const fn = <T>(name: string): T => {
      const f = exports[name];
      if (typeof f !== 'function') throw new TypeError(`simd module has no export ${name}`);
      return f as T;
    };
    kernels = {
      memory,
      dot: fn<PairKernel>('dot'),
      l2sq: fn<PairKernel>('l2sq'),
      l1: fn<PairKernel>('l1'),
      dotScan: fn<ScanKernel>('dotScan'),
      l2sqScan: fn<ScanKernel>('l2sqScan'),
      l1Scan: fn<ScanKernel>('l1Scan'),
      dotGather: fn<GatherKernel>('dotGather'),
      l2sqGather: fn<GatherKernel>('l2sqGather'),
      l1Gather: fn<GatherKernel>('l1Gather'),
      dotMultiScan: fn<MultiScanKernel>('dotMultiScan'),
      l2sqMultiScan: fn<MultiScanKernel>('l2sqMultiScan'),
      l1MultiScan: fn<MultiScanKernel>('l1MultiScan'),
      dotMultiGather: fn<MultiGatherKernel>('dotMultiGather'),
      l2sqMultiGather: fn<MultiGatherKernel>('l2sqMultiGather'),
      l1MultiGather: fn<MultiGatherKernel>('l1MultiGather'),
      dotI8F32: fn<PairKernel>('dotI8F32'),
      dotI8F32Scan: fn<ScanKernel>('dotI8F32Scan'),
    };
    instances.set(memory, kernels);
  }
  return kernels;
}
