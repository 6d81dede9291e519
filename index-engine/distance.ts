/**
 * Distance kernels over flat Float32Array buffers: (a, aOffset, b, bOffset, dim), offsets in elements.
 * Plain loops unrolled by four: the next issue measures them against WebAssembly SIMD and keeps the faster.
 */

export function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    s0 += a[aOffset + i]! * b[bOffset + i]!;
    s1 += a[aOffset + i + 1]! * b[bOffset + i + 1]!;
    s2 += a[aOffset + i + 2]! * b[bOffset + i + 2]!;
    s3 += a[aOffset + i + 3]! * b[bOffset + i + 3]!;
  }
  for (; i < dim; i++) s0 += a[aOffset + i]! * b[bOffset + i]!;
  return s0 + s1 + s2 + s3;
}

export function squaredL2(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    const d0 = a[aOffset + i]! - b[bOffset + i]!;
    const d1 = a[aOffset + i + 1]! - b[bOffset + i + 1]!;
    const d2 = a[aOffset + i + 2]! - b[bOffset + i + 2]!;
    const d3 = a[aOffset + i + 3]! - b[bOffset + i + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < dim; i++) {
    const d = a[aOffset + i]! - b[bOffset + i]!;
    s0 += d * d;
  }
  return s0 + s1 + s2 + s3;
}

export function manhattan(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < dim; i += 2) {
    s0 += Math.abs(a[aOffset + i]! - b[bOffset + i]!);
    s1 += Math.abs(a[aOffset + i + 1]! - b[bOffset + i + 1]!);
  }
  for (; i < dim; i++) s0 += Math.abs(a[aOffset + i]! - b[bOffset + i]!);
  return s0 + s1;
}
