/**
 * RLE Lossless frames (PS3.5 Annex G) of 16-bit grey pixels decoded in the series loading worker into
 * the bytes of an uncompressed frame, which the page then makes like any other (nativeFrames.ts).
 *
 * The archive keeps an RLE copy of large series at half their size, which pays off only when decoding
 * costs less than the transfer it saves. A JavaScript PackBits loop costs more than that; pixelKernels.wat
 * takes about 0.14 ms for a 512×512 CT slice from pydicom's encoder, the copies in and out included
 * (Node 20, build/checkRleDecode.mjs prints it), some 0.3 s of the worker's time for a 2,000-slice series.
 * Decoded here, the frame also skips the image loader's decode workers and their copies to and fro.
 */

import { type NativePixelFormat, int16Offset, offsetFits } from "./nativeFrames";
import pixelKernelsWasm from "./pixelKernels.wat";

const WASM_PAGE_BYTES = 65536;
const RLE_LOSSLESS = "1.2.840.10008.1.2.5";

/** Whether a part in this transfer syntax is an RLE Lossless frame. */
export function isRleTransferSyntax(transferSyntaxUid: string | undefined): boolean {
  return transferSyntaxUid === RLE_LOSSLESS;
}

interface RleDecoder {
  memory: WebAssembly.Memory;
  /**
   * 0 when the frame at ``input`` was decoded into ``pixels`` little-endian values at ``output``, each
   * plus ``offset`` modulo 2^16, with the ``pixels`` bytes at ``scratch`` for one of its planes.
   */
  rleDecode16(input: number, inputLength: number, output: number, pixels: number, scratch: number, offset: number): number;
  /** The last frame's values before the offset: the smallest | the largest << 16. */
  range: WebAssembly.Global;
}

let decoderMade: RleDecoder | null | undefined;

function rleDecoder(): RleDecoder | null {
  if (decoderMade !== undefined) {
    return decoderMade;
  }
  decoderMade = null;
  if (typeof WebAssembly === "undefined") {
    return null;
  }
  try {
    // Compiled synchronously: the module is a few hundred bytes, and this runs in a worker.
    const instance = new WebAssembly.Instance(new WebAssembly.Module(pixelKernelsWasm));
    decoderMade = {
      memory: instance.exports.memory as WebAssembly.Memory,
      rleDecode16: instance.exports.rleDecode16 as RleDecoder["rleDecode16"],
      range: instance.exports.range as WebAssembly.Global,
    };
  } catch (error) {
    console.warn("No WebAssembly RLE decoder; the image loader decodes RLE frames", error);
  }
  return decoderMade;
}

export interface RleFrame {
  /** The frame's uncompressed little-endian values, in a buffer of their own (movable to the page). */
  bytes: Uint8Array;
  /**
   * Set when the values are already the rescaled ones as signed 16 bits (the common CT case,
   * int16Offset), with their range: the page shows them as they are (int16Frame). Otherwise they are
   * the stored values, for the page's general decoding (nativeFrameDecode).
   */
  rescaled: { min: number; max: number } | null;
}

/**
 * Decode one RLE Lossless frame of 16 bits allocated, one sample per pixel, into ``output`` when it is
 * given and of the frame's size, else a new buffer. Null when the frame is not two segments making a
 * plane each of this format's size, or there is no WebAssembly: the caller then leaves the frame to the
 * DICOM image loader, which decodes every RLE variant.
 */
export function rleFrameDecode(encoded: Uint8Array, format: NativePixelFormat, output?: ArrayBufferLike): RleFrame | null {
  const pixels = format.rows * format.columns;
  const decoder = pixels > 0 && Number.isSafeInteger(pixels) ? rleDecoder() : null;
  if (!decoder) {
    return null;
  }
  // The output first, from 0, where its 16-bit values are aligned; then the scratch plane, and the
  // encoded frame last, since it is the one part whose size varies from slice to slice.
  const outputBytes = pixels * 2;
  const input = outputBytes + pixels;
  const needed = input + encoded.byteLength;
  const { memory } = decoder;
  if (needed > memory.buffer.byteLength) {
    try {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / WASM_PAGE_BYTES));
    } catch {
      return null; // beyond the module's 2 GiB: not a frame this decoder is for
    }
  }
  new Uint8Array(memory.buffer).set(encoded, input);
  const decode = (offset: number): boolean => decoder.rleDecode16(input, encoded.byteLength, 0, pixels, outputBytes, offset) === 0;
  const offset = int16Offset(format);
  if (!decode(offset ?? 0)) {
    return null;
  }
  let rescaled: RleFrame["rescaled"] = null;
  if (offset !== null) {
    const range = decoder.range.value as number;
    const [low, high] = [range & 0xffff, range >>> 16];
    if (offsetFits(offset, low, high)) {
      rescaled = { min: low + offset, max: high + offset };
    } else {
      decode(0); // values that need another array type: the stored ones, for the page to decode its way
    }
  }
  const decoded = new Uint8Array(memory.buffer, 0, outputBytes);
  if (output?.byteLength === outputBytes) {
    const bytes = new Uint8Array(output);
    bytes.set(decoded);
    return { bytes, rescaled };
  }
  return { bytes: decoded.slice(), rescaled };
}
