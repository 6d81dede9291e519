/**
 * The part of the WebAssembly JS API the kernels use, as narrow structural types. TypeScript declares
 * `WebAssembly` only in the DOM and webworker libs, which this project does not load (lib ES2024 + Node types),
 * so the engine reads the global through these types instead of declaring it globally. A real
 * WebAssembly.Memory satisfies SegmentMemory.
 */

/** A shared WebAssembly.Memory: its buffer is a SharedArrayBuffer that grows in 64 KiB pages. */
export interface SegmentMemory {
  readonly buffer: SharedArrayBuffer;
  /** Grows by `deltaPages` pages and returns the previous size in pages; throws RangeError past the maximum. */
  grow(deltaPages: number): number;
}

export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

interface WebAssemblyApi {
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => SegmentMemory;
  readonly Module: new (bytes: Uint8Array<ArrayBuffer>) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
}

/** The runtime's WebAssembly namespace, or undefined where there is none. */
export const webAssembly: WebAssemblyApi | undefined = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
