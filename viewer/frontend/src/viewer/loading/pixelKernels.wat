;; The per-pixel loops of the viewer's own decoding, in WebAssembly SIMD, one module for both of its
;; callers. Built into the bundles by build/watModules.ts.
;;
;; - rleDecode16: RLE Lossless frames (PS3.5 Annex G) of 16-bit grey pixels, decoded in the series
;;   loading worker (rleFrames.ts); checked against a plain decoder and pydicom's encoder by
;;   build/checkRleDecode.mjs (run by tests/unit/test_viewer_rle_decode.py).
;; - offsetU16: the modality rescale of uncompressed CT frames on the page (nativeFrames.ts), eight
;;   values at a time; checked against plain loops by build/checkPixelKernels.mjs (run by
;;   tests/unit/test_viewer_pixel_kernels.py). The caller copies a frame into this module's memory at
;;   offset 0 and copies the result back: two copies of half a megabyte cost less than a tenth of the
;;   plain JavaScript loop they replace.
;;
;; Why WebAssembly: the RLE copy halves the bytes a CT series takes over the network, but the same
;; byte loop in JavaScript costs the worker more time than those bytes save.
;;
;; Why planes, then an interleave: a CT slice's high bytes come as tens of thousands of runs of one to
;; a few bytes, so the cost is per run, not per byte. Each segment is decoded into a plane of its own,
;; where a run is one or a few 16-byte stores whatever its length; then one SIMD pass interleaves the
;; planes into little-endian values. The high plane is decoded into the output's second half and the
;; interleave runs forwards, which never overwrites a high byte it has yet to read; the low plane needs
;; a scratch plane of its own.
;;
;; The frames come from the network, so nothing in them is trusted: every read and write is known to
;; lie within its segment or plane before it is made (near their ends by checking each run, elsewhere by
;; the room left), and a frame that does not fit returns a non-zero status rather than trapping. The
;; 16-byte stores may run past the end of their run, but only where the plane has 128 bytes left (the
;; longest run), and later runs overwrite what they left there; the 16-byte reads likewise stay within
;; the segment. The memory's maximum keeps every address and end below 2^31, so the sums cannot wrap.
(module
  (memory (export "memory") 1 32768)
  ;; The smallest and largest value of the last frame decoded, before its offset: low | high << 16.
  (global $range (export "range") (mut i32) (i32.const 0))

  ;; PackBits-decode the segment of bytes [$at, $end) into the plane [$out, $outEnd), which must come
  ;; out full. A segment may end in a pad byte, or in more bytes than its plane needs; what follows a
  ;; full plane is left unread. 0 when the plane came out whole, 1 otherwise.
  (func $segment (param $at i32) (param $end i32) (param $out i32) (param $outEnd i32) (result i32)
    (local $header i32) (local $count i32) (local $runEnd i32) (local $from i32) (local $value v128)
    ;; While 129 bytes of the segment (a header and the longest literal) and 128 of the plane (the
    ;; longest run) are left, no run can read or write out of bounds, even in whole 16-byte blocks: the
    ;; runs need no checks of their own, and most of a slice's runs take a single store.
    (block $fastDone
      (loop $fast
        (br_if $fastDone
          (i32.or
            (i32.lt_u (i32.sub (local.get $end) (local.get $at)) (i32.const 129))
            (i32.lt_u (i32.sub (local.get $outEnd) (local.get $out)) (i32.const 128))))
        (local.set $header (i32.load8_s (local.get $at)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (if (i32.ge_s (local.get $header) (i32.const 0))
          (then
            ;; A literal run of header + 1 bytes.
            (local.set $runEnd (i32.add (i32.add (local.get $out) (local.get $header)) (i32.const 1)))
            (local.set $from (local.get $at))
            (local.set $at (i32.add (i32.add (local.get $at) (local.get $header)) (i32.const 1)))
            (loop $literal
              (v128.store (local.get $out) (v128.load (local.get $from)))
              (local.set $from (i32.add (local.get $from) (i32.const 16)))
              (local.set $out (i32.add (local.get $out) (i32.const 16)))
              (br_if $literal (i32.lt_u (local.get $out) (local.get $runEnd))))
            (local.set $out (local.get $runEnd)))
          (else
            ;; -128 is a no-op (PS3.5 G.3.1); -1..-127 repeats the next byte 1 - header times.
            (if (i32.ne (local.get $header) (i32.const -128))
              (then
                (local.set $runEnd (i32.sub (i32.add (local.get $out) (i32.const 1)) (local.get $header)))
                (local.set $value (v128.load8_splat (local.get $at)))
                (local.set $at (i32.add (local.get $at) (i32.const 1)))
                (loop $replicate
                  (v128.store (local.get $out) (local.get $value))
                  (local.set $out (i32.add (local.get $out) (i32.const 16)))
                  (br_if $replicate (i32.lt_u (local.get $out) (local.get $runEnd))))
                (local.set $out (local.get $runEnd))))))
        (br $fast)))
    ;; The rest of the segment or of the plane: each run checked, and copied or filled exactly.
    (block $malformed
      (loop $runs
        (if (i32.eq (local.get $out) (local.get $outEnd))
          (then (return (i32.const 0))))
        (br_if $malformed (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $header (i32.load8_s (local.get $at)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (if (i32.ge_s (local.get $header) (i32.const 0))
          (then
            (local.set $count (i32.add (local.get $header) (i32.const 1)))
            (br_if $malformed (i32.gt_u (local.get $count) (i32.sub (local.get $end) (local.get $at))))
            (br_if $malformed (i32.gt_u (local.get $count) (i32.sub (local.get $outEnd) (local.get $out))))
            (memory.copy (local.get $out) (local.get $at) (local.get $count))
            (local.set $at (i32.add (local.get $at) (local.get $count)))
            (local.set $out (i32.add (local.get $out) (local.get $count))))
          (else
            (if (i32.ne (local.get $header) (i32.const -128))
              (then
                (br_if $malformed (i32.ge_u (local.get $at) (local.get $end)))
                (local.set $count (i32.sub (i32.const 1) (local.get $header)))
                (br_if $malformed (i32.gt_u (local.get $count) (i32.sub (local.get $outEnd) (local.get $out))))
                (memory.fill (local.get $out) (i32.load8_u (local.get $at)) (local.get $count))
                (local.set $at (i32.add (local.get $at) (i32.const 1)))
                (local.set $out (i32.add (local.get $out) (local.get $count)))))))
        (br $runs)))
    (i32.const 1))

  ;; Interleave the low plane at $low and the high plane in the second half of the output into $pixels
  ;; little-endian values at $output, each plus $offset modulo 2^16, and set $range to the smallest and
  ;; largest value before the offset. Value i is written to bytes 2i and 2i + 1, which lie below high
  ;; byte i + 1 at $pixels + i + 1; so is each block's last store below the next block's high bytes.
  ;;
  ;; Why the offset here: a CT's stored values are unsigned and its rescale an integer intercept, so the
  ;; Hounsfield units the viewer shows are the values plus that intercept, as signed 16-bit values. Done
  ;; in this pass it costs two adds per block, instead of the page copying each frame in and out of
  ;; this module's memory for a pass of its own (offsetU16, which uncompressed frames still take).
  (func $interleave (param $low i32) (param $output i32) (param $pixels i32) (param $offset i32)
    (local $high i32) (local $blocksEnd i32) (local $lowBytes v128) (local $highBytes v128)
    (local $first v128) (local $second v128) (local $add v128) (local $lowest v128) (local $highest v128)
    (local $value i32) (local $least i32) (local $most i32)
    (local.set $add (i16x8.splat (local.get $offset)))
    (local.set $lowest (v128.const i16x8 -1 -1 -1 -1 -1 -1 -1 -1))
    (local.set $highest (v128.const i16x8 0 0 0 0 0 0 0 0))
    (local.set $high (i32.add (local.get $output) (local.get $pixels)))
    (local.set $blocksEnd
      (i32.add (local.get $output) (i32.shl (i32.and (local.get $pixels) (i32.const -16)) (i32.const 1))))
    (block $blocksDone
      (br_if $blocksDone (i32.ge_u (local.get $output) (local.get $blocksEnd)))
      (loop $blocks
        (local.set $lowBytes (v128.load (local.get $low)))
        (local.set $highBytes (v128.load (local.get $high)))
        (local.set $first
          (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $lowBytes) (local.get $highBytes)))
        (local.set $second
          (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $lowBytes) (local.get $highBytes)))
        (local.set $lowest (i16x8.min_u (local.get $lowest) (i16x8.min_u (local.get $first) (local.get $second))))
        (local.set $highest (i16x8.max_u (local.get $highest) (i16x8.max_u (local.get $first) (local.get $second))))
        (v128.store (local.get $output) (i16x8.add (local.get $first) (local.get $add)))
        (v128.store offset=16 (local.get $output) (i16x8.add (local.get $second) (local.get $add)))
        (local.set $low (i32.add (local.get $low) (i32.const 16)))
        (local.set $high (i32.add (local.get $high) (i32.const 16)))
        (local.set $output (i32.add (local.get $output) (i32.const 32)))
        (br_if $blocks (i32.lt_u (local.get $output) (local.get $blocksEnd)))))
    (local.set $least (call $lanesMinU (local.get $lowest)))
    (local.set $most (call $lanesMaxU (local.get $highest)))
    ;; The last pixels mod 16, one at a time; the high byte is read before its value's store reaches it.
    (local.set $blocksEnd
      (i32.add (local.get $output) (i32.shl (i32.and (local.get $pixels) (i32.const 15)) (i32.const 1))))
    (block $tailDone
      (br_if $tailDone (i32.ge_u (local.get $output) (local.get $blocksEnd)))
      (loop $tail
        (local.set $value
          (i32.or (i32.load8_u (local.get $low)) (i32.shl (i32.load8_u (local.get $high)) (i32.const 8))))
        (if (i32.lt_u (local.get $value) (local.get $least)) (then (local.set $least (local.get $value))))
        (if (i32.gt_u (local.get $value) (local.get $most)) (then (local.set $most (local.get $value))))
        (i32.store16 (local.get $output) (i32.add (local.get $value) (local.get $offset)))
        (local.set $low (i32.add (local.get $low) (i32.const 1)))
        (local.set $high (i32.add (local.get $high) (i32.const 1)))
        (local.set $output (i32.add (local.get $output) (i32.const 2)))
        (br_if $tail (i32.lt_u (local.get $output) (local.get $blocksEnd)))))
    (global.set $range (i32.or (local.get $least) (i32.shl (local.get $most) (i32.const 16)))))

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

  ;; Decode the RLE Lossless frame of $inputLength bytes at $input, of $pixels 16-bit single-sample
  ;; pixels, into $pixels little-endian values at $output, each plus $offset modulo 2^16, using the
  ;; $pixels bytes at $scratch; $range then holds the values' range before the offset. The status:
  ;;   0 decoded; 1 the input, output or scratch is not wholly in memory, or two of them overlap; 2 not
  ;;   two segments; 3 the segment offsets are not increasing within the input; 4 the high bytes'
  ;;   segment, 5 the low bytes' segment, does not make exactly one plane.
  (func (export "rleDecode16")
    (param $input i32) (param $inputLength i32) (param $output i32) (param $pixels i32) (param $scratch i32)
    (param $offset i32) (result i32)
    (local $memoryEnd i64) (local $inputEnd i32) (local $outputEnd i32) (local $scratchEnd i32)
    (local $first i32) (local $second i32)
    ;; Wide sums: the arguments come from JavaScript and are not yet known to be small.
    (local.set $memoryEnd (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i32.or
          (i32.or
            (i64.gt_u (i64.add (i64.extend_i32_u (local.get $input)) (i64.extend_i32_u (local.get $inputLength)))
              (local.get $memoryEnd))
            (i64.gt_u
              (i64.add (i64.extend_i32_u (local.get $output))
                (i64.shl (i64.extend_i32_u (local.get $pixels)) (i64.const 1)))
              (local.get $memoryEnd)))
          (i64.gt_u (i64.add (i64.extend_i32_u (local.get $scratch)) (i64.extend_i32_u (local.get $pixels)))
            (local.get $memoryEnd)))
      (then (return (i32.const 1))))
    (local.set $inputEnd (i32.add (local.get $input) (local.get $inputLength)))
    (local.set $outputEnd (i32.add (local.get $output) (i32.shl (local.get $pixels) (i32.const 1))))
    (local.set $scratchEnd (i32.add (local.get $scratch) (local.get $pixels)))
    (if (i32.or
          (i32.or
            (i32.and
              (i32.lt_u (local.get $input) (local.get $outputEnd))
              (i32.lt_u (local.get $output) (local.get $inputEnd)))
            (i32.and
              (i32.lt_u (local.get $scratch) (local.get $outputEnd))
              (i32.lt_u (local.get $output) (local.get $scratchEnd))))
          (i32.and
            (i32.lt_u (local.get $input) (local.get $scratchEnd))
            (i32.lt_u (local.get $scratch) (local.get $inputEnd))))
      (then (return (i32.const 1))))
    ;; The header: 16 little-endian 32-bit numbers, the segment count and then the segments' offsets.
    (if (i32.lt_u (local.get $inputLength) (i32.const 64))
      (then (return (i32.const 2))))
    (if (i32.ne (i32.load (local.get $input)) (i32.const 2))
      (then (return (i32.const 2))))
    (local.set $first (i32.load offset=4 (local.get $input)))
    (local.set $second (i32.load offset=8 (local.get $input)))
    (if (i32.or
          (i32.or
            (i32.lt_u (local.get $first) (i32.const 64))
            (i32.le_u (local.get $second) (local.get $first)))
          (i32.ge_u (local.get $second) (local.get $inputLength)))
      (then (return (i32.const 3))))
    ;; Segment 1 holds each value's most significant byte, which comes second in little-endian order.
    (if (call $segment
          (i32.add (local.get $input) (local.get $first))
          (i32.add (local.get $input) (local.get $second))
          (i32.add (local.get $output) (local.get $pixels))
          (local.get $outputEnd))
      (then (return (i32.const 4))))
    (if (call $segment
          (i32.add (local.get $input) (local.get $second))
          (local.get $inputEnd)
          (local.get $scratch)
          (local.get $scratchEnd))
      (then (return (i32.const 5))))
    (call $interleave (local.get $scratch) (local.get $output) (local.get $pixels) (local.get $offset))
    (i32.const 0))

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
