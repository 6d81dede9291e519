;; Distance kernels in WebAssembly SIMD (v128), assembled at build time by scripts/build-wasm.mjs.
;;
;; The memory is imported and shared: every segment owns one WebAssembly.Memory (memory-layout.ts), and each
;; thread instantiates this module against it. Pointers are byte offsets into that memory; `dim` counts
;; elements. Unaligned pointers are allowed (v128.load has no alignment requirement), dims that are not a
;; multiple of 4 end in a scalar tail.
;;
;; Accumulation is in f32, in 4 independent v128 accumulators (16 floats per iteration) so consecutive adds do
;; not wait on each other; bench/KERNELS.md has the measurements behind the choice. The horizontal sum is
;; (acc0 + acc1) + (acc2 + acc3), then lanes (0 + 1) + (2 + 3), then the scalar tail.
;;
;; Scan kernels score `count` consecutive rows (stride dim * 4 bytes, or dim bytes for int8 codes) against
;; one query and store one f32 per row at out, out + 4, ... WAT has no macros, so each f32 kernel's body
;; appears three times (pair, scan, and the two-query body of the multi-query kernels): change all of them, the
;; unit tests check they agree bit for bit.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ---- f32 · f32 ----------------------------------------------------------------------------------------

  (func $dot (export "dot") (param $a i32) (param $b i32) (param $dim i32) (result f32)
    (local $end i32) (local $end16 i32) (local $end4 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $sum f32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $dim) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $a) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $a) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $a) (local.get $end16))
      (then
        (loop $by16
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
          (local.set $acc1 (f32x4.add (local.get $acc1)
            (f32x4.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b)))))
          (local.set $acc2 (f32x4.add (local.get $acc2)
            (f32x4.mul (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b)))))
          (local.set $acc3 (f32x4.add (local.get $acc3)
            (f32x4.mul (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b)))))
          (local.set $a (i32.add (local.get $a) (i32.const 64)))
          (local.set $b (i32.add (local.get $b) (i32.const 64)))
          (br_if $by16 (i32.lt_u (local.get $a) (local.get $end16))))))
    (if (i32.lt_u (local.get $a) (local.get $end4))
      (then
        (loop $by4
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 16)))
          (br_if $by4 (i32.lt_u (local.get $a) (local.get $end4))))))
    (local.set $sum (call $hsum4 (local.get $acc0) (local.get $acc1) (local.get $acc2) (local.get $acc3)))
    (if (i32.lt_u (local.get $a) (local.get $end))
      (then
        (loop $tail
          (local.set $sum (f32.add (local.get $sum) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b)))))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $a) (local.get $end))))))
    (local.get $sum))

  (func $l2sq (export "l2sq") (param $a i32) (param $b i32) (param $dim i32) (result f32)
    (local $end i32) (local $end16 i32) (local $end4 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $d v128) (local $sum f32) (local $ds f32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $dim) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $a) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $a) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $a) (local.get $end16))
      (then
        (loop $by16
          (local.set $d (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
          (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
          (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))
          (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))
          (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $a (i32.add (local.get $a) (i32.const 64)))
          (local.set $b (i32.add (local.get $b) (i32.const 64)))
          (br_if $by16 (i32.lt_u (local.get $a) (local.get $end16))))))
    (if (i32.lt_u (local.get $a) (local.get $end4))
      (then
        (loop $by4
          (local.set $d (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
          (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 16)))
          (br_if $by4 (i32.lt_u (local.get $a) (local.get $end4))))))
    (local.set $sum (call $hsum4 (local.get $acc0) (local.get $acc1) (local.get $acc2) (local.get $acc3)))
    (if (i32.lt_u (local.get $a) (local.get $end))
      (then
        (loop $tail
          (local.set $ds (f32.sub (f32.load (local.get $a)) (f32.load (local.get $b))))
          (local.set $sum (f32.add (local.get $sum) (f32.mul (local.get $ds) (local.get $ds))))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $a) (local.get $end))))))
    (local.get $sum))

  (func $l1 (export "l1") (param $a i32) (param $b i32) (param $dim i32) (result f32)
    (local $end i32) (local $end16 i32) (local $end4 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $sum f32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $dim) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $a) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $a) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $a) (local.get $end16))
      (then
        (loop $by16
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.abs (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))))
          (local.set $acc1 (f32x4.add (local.get $acc1)
            (f32x4.abs (f32x4.sub (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))))
          (local.set $acc2 (f32x4.add (local.get $acc2)
            (f32x4.abs (f32x4.sub (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))))
          (local.set $acc3 (f32x4.add (local.get $acc3)
            (f32x4.abs (f32x4.sub (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))))
          (local.set $a (i32.add (local.get $a) (i32.const 64)))
          (local.set $b (i32.add (local.get $b) (i32.const 64)))
          (br_if $by16 (i32.lt_u (local.get $a) (local.get $end16))))))
    (if (i32.lt_u (local.get $a) (local.get $end4))
      (then
        (loop $by4
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.abs (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 16)))
          (br_if $by4 (i32.lt_u (local.get $a) (local.get $end4))))))
    (local.set $sum (call $hsum4 (local.get $acc0) (local.get $acc1) (local.get $acc2) (local.get $acc3)))
    (if (i32.lt_u (local.get $a) (local.get $end))
      (then
        (loop $tail
          (local.set $sum (f32.add (local.get $sum)
            (f32.abs (f32.sub (f32.load (local.get $a)) (f32.load (local.get $b))))))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $a) (local.get $end))))))
    (local.get $sum))

  ;; (acc0 + acc1) + (acc2 + acc3), then the four lanes pairwise.
  (func $hsum4 (param $acc0 v128) (param $acc1 v128) (param $acc2 v128) (param $acc3 v128) (result f32)
    (local $v v128)
    (local.set $v (f32x4.add
      (f32x4.add (local.get $acc0) (local.get $acc1))
      (f32x4.add (local.get $acc2) (local.get $acc3))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

;; ---- scans over consecutive f32 rows -----------------------------------------------------------------
  ;; The row loop is written out around each kernel's body rather than calling it: one call per row costs
  ;; 5-15% at dim 100-128 (bench/KERNELS.md). The arithmetic and its order are exactly the pair kernel's, so a
  ;; scan and a per-pair call give bit-identical scores. $a walks the query, $b the row; the query's loop
  ;; bounds are the same for every row.

  (func (export "dotScan") (param $q i32) (param $base i32) (param $count i32) (param $dim i32) (param $out i32)
    (local $stride i32) (local $outEnd i32) (local $a i32) (local $b i32)
    (local $end i32) (local $end16 i32) (local $end4 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $v v128) (local $sum f32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outEnd (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $end (i32.add (local.get $q) (local.get $stride)))
    (local.set $end16 (i32.add (local.get $q) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $q) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $outEnd))
      (then
        (loop $row
          (local.set $a (local.get $q))
          (local.set $b (local.get $base))
          (local.set $acc0 (v128.const i32x4 0 0 0 0))
          (local.set $acc1 (v128.const i32x4 0 0 0 0))
          (local.set $acc2 (v128.const i32x4 0 0 0 0))
          (local.set $acc3 (v128.const i32x4 0 0 0 0))
          (if (i32.lt_u (local.get $a) (local.get $end16))
            (then
              (loop $by16
                (local.set $acc0 (f32x4.add (local.get $acc0)
                  (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
                (local.set $acc1 (f32x4.add (local.get $acc1)
                  (f32x4.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b)))))
                (local.set $acc2 (f32x4.add (local.get $acc2)
                  (f32x4.mul (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b)))))
                (local.set $acc3 (f32x4.add (local.get $acc3)
                  (f32x4.mul (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b)))))
                (local.set $a (i32.add (local.get $a) (i32.const 64)))
                (local.set $b (i32.add (local.get $b) (i32.const 64)))
                (br_if $by16 (i32.lt_u (local.get $a) (local.get $end16))))))
          (if (i32.lt_u (local.get $a) (local.get $end4))
            (then
              (loop $by4
                (local.set $acc0 (f32x4.add (local.get $acc0)
                  (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
                (local.set $a (i32.add (local.get $a) (i32.const 16)))
                (local.set $b (i32.add (local.get $b) (i32.const 16)))
                (br_if $by4 (i32.lt_u (local.get $a) (local.get $end4))))))
          ;; = $hsum4
          (local.set $v (f32x4.add
            (f32x4.add (local.get $acc0) (local.get $acc1))
            (f32x4.add (local.get $acc2) (local.get $acc3))))
          (local.set $sum (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
            (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))
          (if (i32.lt_u (local.get $a) (local.get $end))
            (then
              (loop $tail
                (local.set $sum (f32.add (local.get $sum)
                  (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b)))))
                (local.set $a (i32.add (local.get $a) (i32.const 4)))
                (local.set $b (i32.add (local.get $b) (i32.const 4)))
                (br_if $tail (i32.lt_u (local.get $a) (local.get $end))))))
          (f32.store (local.get $out) (local.get $sum))
          (local.set $base (i32.add (local.get $base) (local.get $stride)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $out) (local.get $outEnd)))))))

  (func (export "l2sqScan") (param $q i32) (param $base i32) (param $count i32) (param $dim i32) (param $out i32)
    (local $stride i32) (local $outEnd i32) (local $a i32) (local $b i32)
    (local $end i32) (local $end16 i32) (local $end4 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $d v128) (local $v v128) (local $sum f32) (local $ds f32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outEnd (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $end (i32.add (local.get $q) (local.get $stride)))
    (local.set $end16 (i32.add (local.get $q) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $q) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $outEnd))
      (then
        (loop $row
          (local.set $a (local.get $q))
          (local.set $b (local.get $base))
          (local.set $acc0 (v128.const i32x4 0 0 0 0))
          (local.set $acc1 (v128.const i32x4 0 0 0 0))
          (local.set $acc2 (v128.const i32x4 0 0 0 0))
          (local.set $acc3 (v128.const i32x4 0 0 0 0))
          (if (i32.lt_u (local.get $a) (local.get $end16))
            (then
              (loop $by16
                (local.set $d (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
                (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
                (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))
                (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))
                (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $a (i32.add (local.get $a) (i32.const 64)))
                (local.set $b (i32.add (local.get $b) (i32.const 64)))
                (br_if $by16 (i32.lt_u (local.get $a) (local.get $end16))))))
          (if (i32.lt_u (local.get $a) (local.get $end4))
            (then
              (loop $by4
                (local.set $d (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
                (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $a (i32.add (local.get $a) (i32.const 16)))
                (local.set $b (i32.add (local.get $b) (i32.const 16)))
                (br_if $by4 (i32.lt_u (local.get $a) (local.get $end4))))))
          ;; = $hsum4
          (local.set $v (f32x4.add
            (f32x4.add (local.get $acc0) (local.get $acc1))
            (f32x4.add (local.get $acc2) (local.get $acc3))))
          (local.set $sum (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
            (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))
          (if (i32.lt_u (local.get $a) (local.get $end))
            (then
              (loop $tail
                (local.set $ds (f32.sub (f32.load (local.get $a)) (f32.load (local.get $b))))
                (local.set $sum (f32.add (local.get $sum) (f32.mul (local.get $ds) (local.get $ds))))
                (local.set $a (i32.add (local.get $a) (i32.const 4)))
                (local.set $b (i32.add (local.get $b) (i32.const 4)))
                (br_if $tail (i32.lt_u (local.get $a) (local.get $end))))))
          (f32.store (local.get $out) (local.get $sum))
          (local.set $base (i32.add (local.get $base) (local.get $stride)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $out) (local.get $outEnd)))))))

  (func (export "l1Scan") (param $q i32) (param $base i32) (param $count i32) (param $dim i32) (param $out i32)
    (local $stride i32) (local $outEnd i32) (local $a i32) (local $b i32)
    (local $end i32) (local $end16 i32) (local $end4 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $v v128) (local $sum f32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outEnd (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $end (i32.add (local.get $q) (local.get $stride)))
    (local.set $end16 (i32.add (local.get $q) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $q) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $outEnd))
      (then
        (loop $row
          (local.set $a (local.get $q))
          (local.set $b (local.get $base))
          (local.set $acc0 (v128.const i32x4 0 0 0 0))
          (local.set $acc1 (v128.const i32x4 0 0 0 0))
          (local.set $acc2 (v128.const i32x4 0 0 0 0))
          (local.set $acc3 (v128.const i32x4 0 0 0 0))
          (if (i32.lt_u (local.get $a) (local.get $end16))
            (then
              (loop $by16
                (local.set $acc0 (f32x4.add (local.get $acc0)
                  (f32x4.abs (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))))
                (local.set $acc1 (f32x4.add (local.get $acc1)
                  (f32x4.abs (f32x4.sub (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))))
                (local.set $acc2 (f32x4.add (local.get $acc2)
                  (f32x4.abs (f32x4.sub (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))))
                (local.set $acc3 (f32x4.add (local.get $acc3)
                  (f32x4.abs (f32x4.sub (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))))
                (local.set $a (i32.add (local.get $a) (i32.const 64)))
                (local.set $b (i32.add (local.get $b) (i32.const 64)))
                (br_if $by16 (i32.lt_u (local.get $a) (local.get $end16))))))
          (if (i32.lt_u (local.get $a) (local.get $end4))
            (then
              (loop $by4
                (local.set $acc0 (f32x4.add (local.get $acc0)
                  (f32x4.abs (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))))
                (local.set $a (i32.add (local.get $a) (i32.const 16)))
                (local.set $b (i32.add (local.get $b) (i32.const 16)))
                (br_if $by4 (i32.lt_u (local.get $a) (local.get $end4))))))
          ;; = $hsum4
          (local.set $v (f32x4.add
            (f32x4.add (local.get $acc0) (local.get $acc1))
            (f32x4.add (local.get $acc2) (local.get $acc3))))
          (local.set $sum (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
            (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))
          (if (i32.lt_u (local.get $a) (local.get $end))
            (then
              (loop $tail
                (local.set $sum (f32.add (local.get $sum)
                  (f32.abs (f32.sub (f32.load (local.get $a)) (f32.load (local.get $b))))))
                (local.set $a (i32.add (local.get $a) (i32.const 4)))
                (local.set $b (i32.add (local.get $b) (i32.const 4)))
                (br_if $tail (i32.lt_u (local.get $a) (local.get $end))))))
          (f32.store (local.get $out) (local.get $sum))
          (local.set $base (i32.add (local.get $base) (local.get $stride)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $out) (local.get $outEnd)))))))

;; ---- gathers: rows named by a list of ids -----------------------------------------------------------
  ;; Graph search scores the unvisited neighbours of one node at a time: one call per list instead of one per
  ;; neighbour saves the JS-to-wasm transitions, and the loads of consecutive rows overlap in the out-of-order
  ;; core. Row id i is the u32 at ids + 4i; its score goes to out + 4i (out may equal ids: each id is read
  ;; before its slot is written). Each row calls the pair kernel, so scores are bit-identical to it.

  ;; Reads one word from every 64-byte line of each named row before any is scored: the reads are independent,
  ;; so the core has all the rows' cache misses in flight at once instead of one row's at a time (WebAssembly
  ;; has no prefetch instruction). The words are folded into the return value so no read can be dropped.
  (func $touchRows (param $base i32) (param $ids i32) (param $count i32) (param $stride i32) (result i32)
    (local $end i32) (local $row i32) (local $line i32) (local $sink i32)
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.lt_u (local.get $ids) (local.get $end))
      (then
        (loop $rows
          (local.set $row (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))))
          (local.set $line (i32.const 0))
          (loop $lines
            (local.set $sink (i32.xor (local.get $sink) (i32.load (i32.add (local.get $row) (local.get $line)))))
            (local.set $line (i32.add (local.get $line) (i32.const 64)))
            (br_if $lines (i32.lt_u (local.get $line) (local.get $stride))))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (br_if $rows (i32.lt_u (local.get $ids) (local.get $end))))))
    (local.get $sink))

  (func (export "dotGather") (param $q i32) (param $base i32) (param $ids i32) (param $count i32) (param $dim i32)
    (param $out i32)
    (local $stride i32) (local $end i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (drop (call $touchRows (local.get $base) (local.get $ids) (local.get $count) (local.get $stride)))
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.lt_u (local.get $ids) (local.get $end))
      (then
        (loop $row
          (f32.store (local.get $out) (call $dot (local.get $q)
            (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))) (local.get $dim)))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $ids) (local.get $end)))))))

  (func (export "l2sqGather") (param $q i32) (param $base i32) (param $ids i32) (param $count i32) (param $dim i32)
    (param $out i32)
    (local $stride i32) (local $end i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (drop (call $touchRows (local.get $base) (local.get $ids) (local.get $count) (local.get $stride)))
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.lt_u (local.get $ids) (local.get $end))
      (then
        (loop $row
          (f32.store (local.get $out) (call $l2sq (local.get $q)
            (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))) (local.get $dim)))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $ids) (local.get $end)))))))

  (func (export "l1Gather") (param $q i32) (param $base i32) (param $ids i32) (param $count i32) (param $dim i32)
    (param $out i32)
    (local $stride i32) (local $end i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (drop (call $touchRows (local.get $base) (local.get $ids) (local.get $count) (local.get $stride)))
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.lt_u (local.get $ids) (local.get $end))
      (then
        (loop $row
          (f32.store (local.get $out) (call $l1 (local.get $q)
            (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))) (local.get $dim)))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $ids) (local.get $end)))))))

  ;; ---- f32 query · int8 codes --------------------------------------------------------------------------
  ;; Kept simple: 8 codes per step (v128.load8x8_s sign-extends them to i16x8, then i32x4 halves converted to
  ;; f32x4), two accumulators, scalar tail. The quantizer's scale and offset are the caller's business.

  (func $dotI8F32 (export "dotI8F32") (param $q i32) (param $codes i32) (param $dim i32) (result f32)
    (local $end i32) (local $end8 i32) (local $w v128)
    (local $acc0 v128) (local $acc1 v128) (local $sum f32)
    (local.set $end (i32.add (local.get $codes) (local.get $dim)))
    (local.set $end8 (i32.add (local.get $codes) (i32.and (local.get $dim) (i32.const -8))))
    (if (i32.lt_u (local.get $codes) (local.get $end8))
      (then
        (loop $by8
          (local.set $w (v128.load8x8_s (local.get $codes)))
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (v128.load (local.get $q)))))
          (local.set $acc1 (f32x4.add (local.get $acc1)
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w)))
              (v128.load offset=16 (local.get $q)))))
          (local.set $codes (i32.add (local.get $codes) (i32.const 8)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $by8 (i32.lt_u (local.get $codes) (local.get $end8))))))
    (local.set $sum (call $hsum4 (local.get $acc0) (local.get $acc1) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0)))
    (if (i32.lt_u (local.get $codes) (local.get $end))
      (then
        (loop $tail
          (local.set $sum (f32.add (local.get $sum)
            (f32.mul (f32.convert_i32_s (i32.load8_s (local.get $codes))) (f32.load (local.get $q)))))
          (local.set $codes (i32.add (local.get $codes) (i32.const 1)))
          (local.set $q (i32.add (local.get $q) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $codes) (local.get $end))))))
    (local.get $sum))

  (func (export "dotI8F32Scan") (param $q i32) (param $codes i32) (param $count i32) (param $dim i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $row
          (f32.store (local.get $out) (call $dotI8F32 (local.get $q) (local.get $codes) (local.get $dim)))
          (local.set $codes (i32.add (local.get $codes) (local.get $dim)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (br_if $row (i32.lt_u (local.get $out) (local.get $end)))))))

;; ---- multi-query: one row against several queries ---------------------------------------------------
  ;; Batches score a block of queries against each row while the row is in registers and L1: queries are packed
  ;; at $qs, each padded to a multiple of 16 bytes; row r's scores go to out + 4·(r·nq + q). 2 queries share each
  ;; load of the row (e.g. $dotx2: 4 accumulators per query, 4·2 in all), so per 4 floats the row is loaded once
  ;; instead of twice. Each query keeps exactly the pair kernel's accumulators, order of additions,
  ;; horizontal sum and scalar tail, so every score is bit-identical to the pair kernel's (the unit tests check
  ;; it), and a batch returns exactly what one-by-one searches return.

  (func $dotx2 (param $q0 i32) (param $q1 i32) (param $r i32) (param $dim i32) (param $out i32)
    (local $end i32) (local $end16 i32) (local $end4 i32) (local $x v128)
    (local $a0_0 v128) (local $a0_1 v128) (local $a0_2 v128) (local $a0_3 v128)
    (local $a1_0 v128) (local $a1_1 v128) (local $a1_2 v128) (local $a1_3 v128)
    (local $s0 f32) (local $s1 f32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $dim) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $r) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $r) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $r) (local.get $end16))
      (then
        (loop $by16
          (local.set $x (v128.load (local.get $r)))
          (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (v128.load (local.get $q0)) (local.get $x))))
          (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (v128.load (local.get $q1)) (local.get $x))))
          (local.set $x (v128.load offset=16 (local.get $r)))
          (local.set $a0_1 (f32x4.add (local.get $a0_1) (f32x4.mul (v128.load offset=16 (local.get $q0)) (local.get $x))))
          (local.set $a1_1 (f32x4.add (local.get $a1_1) (f32x4.mul (v128.load offset=16 (local.get $q1)) (local.get $x))))
          (local.set $x (v128.load offset=32 (local.get $r)))
          (local.set $a0_2 (f32x4.add (local.get $a0_2) (f32x4.mul (v128.load offset=32 (local.get $q0)) (local.get $x))))
          (local.set $a1_2 (f32x4.add (local.get $a1_2) (f32x4.mul (v128.load offset=32 (local.get $q1)) (local.get $x))))
          (local.set $x (v128.load offset=48 (local.get $r)))
          (local.set $a0_3 (f32x4.add (local.get $a0_3) (f32x4.mul (v128.load offset=48 (local.get $q0)) (local.get $x))))
          (local.set $a1_3 (f32x4.add (local.get $a1_3) (f32x4.mul (v128.load offset=48 (local.get $q1)) (local.get $x))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 64)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 64)))
          (local.set $r (i32.add (local.get $r) (i32.const 64)))
          (br_if $by16 (i32.lt_u (local.get $r) (local.get $end16))))))
    (if (i32.lt_u (local.get $r) (local.get $end4))
      (then
        (loop $by4
          (local.set $x (v128.load (local.get $r)))
          (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (v128.load (local.get $q0)) (local.get $x))))
          (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (v128.load (local.get $q1)) (local.get $x))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 16)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 16)))
          (local.set $r (i32.add (local.get $r) (i32.const 16)))
          (br_if $by4 (i32.lt_u (local.get $r) (local.get $end4))))))
    (local.set $s0 (call $hsum4 (local.get $a0_0) (local.get $a0_1) (local.get $a0_2) (local.get $a0_3)))
    (local.set $s1 (call $hsum4 (local.get $a1_0) (local.get $a1_1) (local.get $a1_2) (local.get $a1_3)))
    (if (i32.lt_u (local.get $r) (local.get $end))
      (then
        (loop $tail
          (local.set $s0 (f32.add (local.get $s0) (f32.mul (f32.load (local.get $q0)) (f32.load (local.get $r)))))
          (local.set $s1 (f32.add (local.get $s1) (f32.mul (f32.load (local.get $q1)) (f32.load (local.get $r)))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 4)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 4)))
          (local.set $r (i32.add (local.get $r) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $r) (local.get $end))))))
    (f32.store (local.get $out) (local.get $s0))
    (f32.store offset=4 (local.get $out) (local.get $s1)))

  ;; Row $r against the $nq queries packed at $qs: 2 at a time through $dotx2, the rest through $dot.
  (func $dotRows (param $qs i32) (param $nq i32) (param $r i32) (param $dim i32) (param $out i32)
    (local $qStride i32) (local $q i32) (local $groups i32) (local $rest i32)
    (local.set $qStride (i32.and (i32.add (i32.shl (local.get $dim) (i32.const 2)) (i32.const 15)) (i32.const -16)))
    (local.set $q (local.get $qs))
    (local.set $groups (i32.shr_u (local.get $nq) (i32.const 1)))
    (local.set $rest (i32.and (local.get $nq) (i32.const 1)))
    (if (local.get $groups)
      (then
        (loop $group
          (call $dotx2 (local.get $q) (i32.add (local.get $q) (local.get $qStride)) (local.get $r) (local.get $dim)
            (local.get $out))
          (local.set $q (i32.add (local.get $q) (i32.shl (local.get $qStride) (i32.const 1))))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
          (br_if $group (local.get $groups)))))
    (if (local.get $rest)
      (then
        (loop $single
          (f32.store (local.get $out) (call $dot (local.get $q) (local.get $r) (local.get $dim)))
          (local.set $q (i32.add (local.get $q) (local.get $qStride)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $rest (i32.sub (local.get $rest) (i32.const 1)))
          (br_if $single (local.get $rest))))))

  (func (export "dotMultiScan") (param $qs i32) (param $nq i32) (param $base i32) (param $count i32) (param $dim i32)
    (param $out i32)
    (local $stride i32) (local $outStride i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outStride (i32.shl (local.get $nq) (i32.const 2)))
    (if (local.get $count)
      (then
        (loop $row
          (call $dotRows (local.get $qs) (local.get $nq) (local.get $base) (local.get $dim) (local.get $out))
          (local.set $base (i32.add (local.get $base) (local.get $stride)))
          (local.set $out (i32.add (local.get $out) (local.get $outStride)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br_if $row (local.get $count))))))

  (func (export "dotMultiGather") (param $qs i32) (param $nq i32) (param $base i32) (param $ids i32) (param $count i32)
    (param $dim i32) (param $out i32)
    (local $stride i32) (local $outStride i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outStride (i32.shl (local.get $nq) (i32.const 2)))
    (drop (call $touchRows (local.get $base) (local.get $ids) (local.get $count) (local.get $stride)))
    (if (local.get $count)
      (then
        (loop $row
          (call $dotRows (local.get $qs) (local.get $nq)
            (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))) (local.get $dim)
            (local.get $out))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (local.get $outStride)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br_if $row (local.get $count))))))

  (func $l2sqx2 (param $q0 i32) (param $q1 i32) (param $r i32) (param $dim i32) (param $out i32)
    (local $end i32) (local $end16 i32) (local $end4 i32) (local $x v128)
    (local $d v128) (local $ds f32)
    (local $a0_0 v128) (local $a0_1 v128) (local $a0_2 v128) (local $a0_3 v128)
    (local $a1_0 v128) (local $a1_1 v128) (local $a1_2 v128) (local $a1_3 v128)
    (local $s0 f32) (local $s1 f32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $dim) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $r) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $r) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $r) (local.get $end16))
      (then
        (loop $by16
          (local.set $x (v128.load (local.get $r)))
          (local.set $d (f32x4.sub (v128.load (local.get $q0)) (local.get $x)))
          (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load (local.get $q1)) (local.get $x)))
          (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $x (v128.load offset=16 (local.get $r)))
          (local.set $d (f32x4.sub (v128.load offset=16 (local.get $q0)) (local.get $x)))
          (local.set $a0_1 (f32x4.add (local.get $a0_1) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=16 (local.get $q1)) (local.get $x)))
          (local.set $a1_1 (f32x4.add (local.get $a1_1) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $x (v128.load offset=32 (local.get $r)))
          (local.set $d (f32x4.sub (v128.load offset=32 (local.get $q0)) (local.get $x)))
          (local.set $a0_2 (f32x4.add (local.get $a0_2) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=32 (local.get $q1)) (local.get $x)))
          (local.set $a1_2 (f32x4.add (local.get $a1_2) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $x (v128.load offset=48 (local.get $r)))
          (local.set $d (f32x4.sub (v128.load offset=48 (local.get $q0)) (local.get $x)))
          (local.set $a0_3 (f32x4.add (local.get $a0_3) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=48 (local.get $q1)) (local.get $x)))
          (local.set $a1_3 (f32x4.add (local.get $a1_3) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 64)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 64)))
          (local.set $r (i32.add (local.get $r) (i32.const 64)))
          (br_if $by16 (i32.lt_u (local.get $r) (local.get $end16))))))
    (if (i32.lt_u (local.get $r) (local.get $end4))
      (then
        (loop $by4
          (local.set $x (v128.load (local.get $r)))
          (local.set $d (f32x4.sub (v128.load (local.get $q0)) (local.get $x)))
          (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load (local.get $q1)) (local.get $x)))
          (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 16)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 16)))
          (local.set $r (i32.add (local.get $r) (i32.const 16)))
          (br_if $by4 (i32.lt_u (local.get $r) (local.get $end4))))))
    (local.set $s0 (call $hsum4 (local.get $a0_0) (local.get $a0_1) (local.get $a0_2) (local.get $a0_3)))
    (local.set $s1 (call $hsum4 (local.get $a1_0) (local.get $a1_1) (local.get $a1_2) (local.get $a1_3)))
    (if (i32.lt_u (local.get $r) (local.get $end))
      (then
        (loop $tail
          (local.set $ds (f32.sub (f32.load (local.get $q0)) (f32.load (local.get $r))))
          (local.set $s0 (f32.add (local.get $s0) (f32.mul (local.get $ds) (local.get $ds))))
          (local.set $ds (f32.sub (f32.load (local.get $q1)) (f32.load (local.get $r))))
          (local.set $s1 (f32.add (local.get $s1) (f32.mul (local.get $ds) (local.get $ds))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 4)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 4)))
          (local.set $r (i32.add (local.get $r) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $r) (local.get $end))))))
    (f32.store (local.get $out) (local.get $s0))
    (f32.store offset=4 (local.get $out) (local.get $s1)))

  ;; Row $r against the $nq queries packed at $qs: 2 at a time through $l2sqx2, the rest through $l2sq.
  (func $l2sqRows (param $qs i32) (param $nq i32) (param $r i32) (param $dim i32) (param $out i32)
    (local $qStride i32) (local $q i32) (local $groups i32) (local $rest i32)
    (local.set $qStride (i32.and (i32.add (i32.shl (local.get $dim) (i32.const 2)) (i32.const 15)) (i32.const -16)))
    (local.set $q (local.get $qs))
    (local.set $groups (i32.shr_u (local.get $nq) (i32.const 1)))
    (local.set $rest (i32.and (local.get $nq) (i32.const 1)))
    (if (local.get $groups)
      (then
        (loop $group
          (call $l2sqx2 (local.get $q) (i32.add (local.get $q) (local.get $qStride)) (local.get $r) (local.get $dim)
            (local.get $out))
          (local.set $q (i32.add (local.get $q) (i32.shl (local.get $qStride) (i32.const 1))))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
          (br_if $group (local.get $groups)))))
    (if (local.get $rest)
      (then
        (loop $single
          (f32.store (local.get $out) (call $l2sq (local.get $q) (local.get $r) (local.get $dim)))
          (local.set $q (i32.add (local.get $q) (local.get $qStride)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $rest (i32.sub (local.get $rest) (i32.const 1)))
          (br_if $single (local.get $rest))))))

  (func (export "l2sqMultiScan") (param $qs i32) (param $nq i32) (param $base i32) (param $count i32) (param $dim i32)
    (param $out i32)
    (local $stride i32) (local $outStride i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outStride (i32.shl (local.get $nq) (i32.const 2)))
    (if (local.get $count)
      (then
        (loop $row
          (call $l2sqRows (local.get $qs) (local.get $nq) (local.get $base) (local.get $dim) (local.get $out))
          (local.set $base (i32.add (local.get $base) (local.get $stride)))
          (local.set $out (i32.add (local.get $out) (local.get $outStride)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br_if $row (local.get $count))))))

  (func (export "l2sqMultiGather") (param $qs i32) (param $nq i32) (param $base i32) (param $ids i32) (param $count i32)
    (param $dim i32) (param $out i32)
    (local $stride i32) (local $outStride i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outStride (i32.shl (local.get $nq) (i32.const 2)))
    (drop (call $touchRows (local.get $base) (local.get $ids) (local.get $count) (local.get $stride)))
    (if (local.get $count)
      (then
        (loop $row
          (call $l2sqRows (local.get $qs) (local.get $nq)
            (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))) (local.get $dim)
            (local.get $out))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (local.get $outStride)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br_if $row (local.get $count))))))

  (func $l1x2 (param $q0 i32) (param $q1 i32) (param $r i32) (param $dim i32) (param $out i32)
    (local $end i32) (local $end16 i32) (local $end4 i32) (local $x v128)
    (local $a0_0 v128) (local $a0_1 v128) (local $a0_2 v128) (local $a0_3 v128)
    (local $a1_0 v128) (local $a1_1 v128) (local $a1_2 v128) (local $a1_3 v128)
    (local $s0 f32) (local $s1 f32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $dim) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $r) (i32.shl (i32.and (local.get $dim) (i32.const -16)) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $r) (i32.shl (i32.and (local.get $dim) (i32.const -4)) (i32.const 2))))
    (if (i32.lt_u (local.get $r) (local.get $end16))
      (then
        (loop $by16
          (local.set $x (v128.load (local.get $r)))
          (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.abs (f32x4.sub (v128.load (local.get $q0)) (local.get $x)))))
          (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.abs (f32x4.sub (v128.load (local.get $q1)) (local.get $x)))))
          (local.set $x (v128.load offset=16 (local.get $r)))
          (local.set $a0_1 (f32x4.add (local.get $a0_1) (f32x4.abs (f32x4.sub (v128.load offset=16 (local.get $q0)) (local.get $x)))))
          (local.set $a1_1 (f32x4.add (local.get $a1_1) (f32x4.abs (f32x4.sub (v128.load offset=16 (local.get $q1)) (local.get $x)))))
          (local.set $x (v128.load offset=32 (local.get $r)))
          (local.set $a0_2 (f32x4.add (local.get $a0_2) (f32x4.abs (f32x4.sub (v128.load offset=32 (local.get $q0)) (local.get $x)))))
          (local.set $a1_2 (f32x4.add (local.get $a1_2) (f32x4.abs (f32x4.sub (v128.load offset=32 (local.get $q1)) (local.get $x)))))
          (local.set $x (v128.load offset=48 (local.get $r)))
          (local.set $a0_3 (f32x4.add (local.get $a0_3) (f32x4.abs (f32x4.sub (v128.load offset=48 (local.get $q0)) (local.get $x)))))
          (local.set $a1_3 (f32x4.add (local.get $a1_3) (f32x4.abs (f32x4.sub (v128.load offset=48 (local.get $q1)) (local.get $x)))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 64)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 64)))
          (local.set $r (i32.add (local.get $r) (i32.const 64)))
          (br_if $by16 (i32.lt_u (local.get $r) (local.get $end16))))))
    (if (i32.lt_u (local.get $r) (local.get $end4))
      (then
        (loop $by4
          (local.set $x (v128.load (local.get $r)))
          (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.abs (f32x4.sub (v128.load (local.get $q0)) (local.get $x)))))
          (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.abs (f32x4.sub (v128.load (local.get $q1)) (local.get $x)))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 16)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 16)))
          (local.set $r (i32.add (local.get $r) (i32.const 16)))
          (br_if $by4 (i32.lt_u (local.get $r) (local.get $end4))))))
    (local.set $s0 (call $hsum4 (local.get $a0_0) (local.get $a0_1) (local.get $a0_2) (local.get $a0_3)))
    (local.set $s1 (call $hsum4 (local.get $a1_0) (local.get $a1_1) (local.get $a1_2) (local.get $a1_3)))
    (if (i32.lt_u (local.get $r) (local.get $end))
      (then
        (loop $tail
          (local.set $s0 (f32.add (local.get $s0) (f32.abs (f32.sub (f32.load (local.get $q0)) (f32.load (local.get $r))))))
          (local.set $s1 (f32.add (local.get $s1) (f32.abs (f32.sub (f32.load (local.get $q1)) (f32.load (local.get $r))))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 4)))
          (local.set $q1 (i32.add (local.get $q1) (i32.const 4)))
          (local.set $r (i32.add (local.get $r) (i32.const 4)))
          (br_if $tail (i32.lt_u (local.get $r) (local.get $end))))))
    (f32.store (local.get $out) (local.get $s0))
    (f32.store offset=4 (local.get $out) (local.get $s1)))

  ;; Row $r against the $nq queries packed at $qs: 2 at a time through $l1x2, the rest through $l1.
  (func $l1Rows (param $qs i32) (param $nq i32) (param $r i32) (param $dim i32) (param $out i32)
    (local $qStride i32) (local $q i32) (local $groups i32) (local $rest i32)
    (local.set $qStride (i32.and (i32.add (i32.shl (local.get $dim) (i32.const 2)) (i32.const 15)) (i32.const -16)))
    (local.set $q (local.get $qs))
    (local.set $groups (i32.shr_u (local.get $nq) (i32.const 1)))
    (local.set $rest (i32.and (local.get $nq) (i32.const 1)))
    (if (local.get $groups)
      (then
        (loop $group
          (call $l1x2 (local.get $q) (i32.add (local.get $q) (local.get $qStride)) (local.get $r) (local.get $dim)
            (local.get $out))
          (local.set $q (i32.add (local.get $q) (i32.shl (local.get $qStride) (i32.const 1))))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
          (br_if $group (local.get $groups)))))
    (if (local.get $rest)
      (then
        (loop $single
          (f32.store (local.get $out) (call $l1 (local.get $q) (local.get $r) (local.get $dim)))
          (local.set $q (i32.add (local.get $q) (local.get $qStride)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $rest (i32.sub (local.get $rest) (i32.const 1)))
          (br_if $single (local.get $rest))))))

  (func (export "l1MultiScan") (param $qs i32) (param $nq i32) (param $base i32) (param $count i32) (param $dim i32)
    (param $out i32)
    (local $stride i32) (local $outStride i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outStride (i32.shl (local.get $nq) (i32.const 2)))
    (if (local.get $count)
      (then
        (loop $row
          (call $l1Rows (local.get $qs) (local.get $nq) (local.get $base) (local.get $dim) (local.get $out))
          (local.set $base (i32.add (local.get $base) (local.get $stride)))
          (local.set $out (i32.add (local.get $out) (local.get $outStride)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br_if $row (local.get $count))))))

  (func (export "l1MultiGather") (param $qs i32) (param $nq i32) (param $base i32) (param $ids i32) (param $count i32)
    (param $dim i32) (param $out i32)
    (local $stride i32) (local $outStride i32)
    (local.set $stride (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $outStride (i32.shl (local.get $nq) (i32.const 2)))
    (drop (call $touchRows (local.get $base) (local.get $ids) (local.get $count) (local.get $stride)))
    (if (local.get $count)
      (then
        (loop $row
          (call $l1Rows (local.get $qs) (local.get $nq)
            (i32.add (local.get $base) (i32.mul (i32.load (local.get $ids)) (local.get $stride))) (local.get $dim)
            (local.get $out))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (local.get $outStride)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br_if $row (local.get $count))))))
)
