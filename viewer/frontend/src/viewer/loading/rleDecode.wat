;; Decodes RLE Lossless frames (PS3.5 Annex G) of 16-bit grey pixels in the series loading worker
;; (rleFrames.ts). Built into the bundle by build/watModules.ts; checked against a plain decoder and
;; pydicom's encoder by build/checkRleDecode.mjs (run by tests/unit/test_viewer_rle_decode.py).
;;
;; Why WebAssembly: the RLE copy halves the bytes a CT series takes over the network, but the same
;; byte loop in JavaScript costs the worker more time than those bytes save.
;;
;; The frames come from the network, so nothing in them is trusted: every read and write is checked
;; against its segment and the output before it is made, and a frame that does not fit returns a
;; non-zero status rather than trapping. The memory's maximum keeps every address and end below 2^31,
;; so the checks' sums cannot wrap.
(module
  (memory (export "memory") 1 32768)

  ;; PackBits-decode the segment of bytes [$at, $end) into every other byte of [$out, $outEnd), which
  ;; must come out full. A segment may end in a pad byte, or in more bytes than its plane needs; what
  ;; follows a full plane is left unread. 0 when the plane came out whole, 1 otherwise.
  (func $segment (param $at i32) (param $end i32) (param $out i32) (param $outEnd i32) (result i32)
    (local $header i32) (local $count i32) (local $runEnd i32) (local $value i32)
    (block $malformed
      (loop $runs
        (if (i32.eq (local.get $out) (local.get $outEnd))
          (then (return (i32.const 0))))
        (br_if $malformed (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $header (i32.load8_s (local.get $at)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (if (i32.ge_s (local.get $header) (i32.const 0))
          (then
            ;; A literal run of header + 1 bytes.
            (local.set $count (i32.add (local.get $header) (i32.const 1)))
            (br_if $malformed (i32.gt_u (local.get $count) (i32.sub (local.get $end) (local.get $at))))
            (local.set $runEnd (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 1))))
            (br_if $malformed (i32.gt_u (local.get $runEnd) (local.get $outEnd)))
            (loop $literal
              (i32.store8 (local.get $out) (i32.load8_u (local.get $at)))
              (local.set $at (i32.add (local.get $at) (i32.const 1)))
              (local.set $out (i32.add (local.get $out) (i32.const 2)))
              (br_if $literal (i32.lt_u (local.get $out) (local.get $runEnd)))))
          (else
            ;; -128 is a no-op (PS3.5 G.3.1); -1..-127 repeats the next byte 1 - header times.
            (if (i32.ne (local.get $header) (i32.const -128))
              (then
                (br_if $malformed (i32.ge_u (local.get $at) (local.get $end)))
                (local.set $value (i32.load8_u (local.get $at)))
                (local.set $at (i32.add (local.get $at) (i32.const 1)))
                (local.set $runEnd
                  (i32.add (local.get $out) (i32.shl (i32.sub (i32.const 1) (local.get $header)) (i32.const 1))))
                (br_if $malformed (i32.gt_u (local.get $runEnd) (local.get $outEnd)))
                (loop $replicate
                  (i32.store8 (local.get $out) (local.get $value))
                  (local.set $out (i32.add (local.get $out) (i32.const 2)))
                  (br_if $replicate (i32.lt_u (local.get $out) (local.get $runEnd))))))))
        (br $runs)))
    (i32.const 1))

  ;; Decode the RLE Lossless frame of $inputLength bytes at $input, of $pixels 16-bit single-sample
  ;; pixels, into $pixels little-endian values at $output. The status:
  ;;   0 decoded; 1 the input or output is not wholly in memory, or they overlap; 2 not two segments;
  ;;   3 the segment offsets are not increasing within the input; 4 the high bytes' segment, 5 the low
  ;;   bytes' segment, does not make exactly one plane.
  (func (export "rleDecode16") (param $input i32) (param $inputLength i32) (param $output i32) (param $pixels i32)
    (result i32)
    (local $memoryEnd i64) (local $inputEnd i32) (local $outputEnd i32) (local $first i32) (local $second i32)
    ;; Wide sums: the arguments come from JavaScript and are not yet known to be small.
    (local.set $memoryEnd (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i32.or
          (i64.gt_u (i64.add (i64.extend_i32_u (local.get $input)) (i64.extend_i32_u (local.get $inputLength)))
            (local.get $memoryEnd))
          (i64.gt_u
            (i64.add (i64.extend_i32_u (local.get $output))
              (i64.shl (i64.extend_i32_u (local.get $pixels)) (i64.const 1)))
            (local.get $memoryEnd)))
      (then (return (i32.const 1))))
    (local.set $inputEnd (i32.add (local.get $input) (local.get $inputLength)))
    (local.set $outputEnd (i32.add (local.get $output) (i32.shl (local.get $pixels) (i32.const 1))))
    (if (i32.and
          (i32.lt_u (local.get $input) (local.get $outputEnd))
          (i32.lt_u (local.get $output) (local.get $inputEnd)))
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
          (i32.add (local.get $output) (i32.const 1))
          (i32.add (local.get $outputEnd) (i32.const 1)))
      (then (return (i32.const 4))))
    (if (call $segment
          (i32.add (local.get $input) (local.get $second))
          (local.get $inputEnd)
          (local.get $output)
          (local.get $outputEnd))
      (then (return (i32.const 5))))
    (i32.const 0))
)
