;; The per-pixel loops of decoding uncompressed frames (nativeFrames.ts), eight 16-bit values at a time
;; with WebAssembly SIMD. Built into the bundle by build/watModules.ts; checked against plain loops by
;; build/checkPixelKernels.mjs (run by tests/test_viewer_kernels.py).
;;
;; The caller copies a frame into this module's memory at offset 0 and copies the result back: two
;; copies of half a megabyte cost less than a tenth of the plain JavaScript loop they replace.
(module
  (memory (export "memory") 1)

  ;; The smallest of the eight unsigned 16-bit lanes of $v.
  (func $lanesMinU (param $v v128) (result i32)
    (local.set $v (i16x8.min_u (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (local.set $v (i16x8.min_u (local.get $v)
      (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $v) (local.get $v))))
    (local.set $v (i16x8.min_u (local.get $v)
      (i8x16.shuffle 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 (local.get $v) (local.get $v))))
    (i16x8.extract_lane_u 0 (local.get $v)))

  ;; The largest of the eight unsigned 16-bit lanes of $v.
  (func $lanesMaxU (param $v v128) (result i32)
    (local.set $v (i16x8.max_u (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (local.set $v (i16x8.max_u (local.get $v)
      (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $v) (local.get $v))))
    (local.set $v (i16x8.max_u (local.get $v)
      (i8x16.shuffle 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 (local.get $v) (local.get $v))))
    (i16x8.extract_lane_u 0 (local.get $v)))

  ;; For the $count unsigned 16-bit values from byte 0: add $offset to each, modulo 2^16, in place, and
  ;; return the smallest and largest value before the addition as low | high << 16.
  (func (export "offsetU16") (param $count i32) (param $offset i32) (result i32)
    (local $at i32) (local $vectorEnd i32) (local $end i32)
    (local $add v128) (local $low v128) (local $high v128) (local $value v128)
    (local $lowest i32) (local $highest i32) (local $scalar i32)
    (local.set $add (i16x8.splat (local.get $offset)))
    (local.set $low (v128.const i16x8 -1 -1 -1 -1 -1 -1 -1 -1))
    (local.set $high (v128.const i16x8 0 0 0 0 0 0 0 0))
    (local.set $vectorEnd (i32.shl (i32.and (local.get $count) (i32.const -8)) (i32.const 1)))
    (local.set $end (i32.shl (local.get $count) (i32.const 1)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $at) (local.get $vectorEnd)))
        (local.set $value (v128.load (local.get $at)))
        (local.set $low (i16x8.min_u (local.get $low) (local.get $value)))
        (local.set $high (i16x8.max_u (local.get $high) (local.get $value)))
        (v128.store (local.get $at) (i16x8.add (local.get $value) (local.get $add)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vectors)))
    (local.set $lowest (call $lanesMinU (local.get $low)))
    (local.set $highest (call $lanesMaxU (local.get $high)))
    ;; The last count mod 8 values, one by one.
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $scalar (i32.load16_u (local.get $at)))
        (if (i32.lt_u (local.get $scalar) (local.get $lowest)) (then (local.set $lowest (local.get $scalar))))
        (if (i32.gt_u (local.get $scalar) (local.get $highest)) (then (local.set $highest (local.get $scalar))))
        (i32.store16 (local.get $at) (i32.add (local.get $scalar) (local.get $offset)))
        (local.set $at (i32.add (local.get $at) (i32.const 2)))
        (br $tail)))
    (i32.or (local.get $lowest) (i32.shl (local.get $highest) (i32.const 16))))
)
