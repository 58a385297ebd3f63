/**
 * Uncompressed 16-bit grey frames made ready for display without the DICOM image loader's decode
 * workers: the same array type, the same modality rescale applied beforehand and the same minimum and
 * maximum as that loader's own post-processing gives (see `postProcessDecodedPixels` in
 * `@cornerstonejs/dicom-image-loader`), so an image made here is indistinguishable from one it made.
 *
 * Why not simply hand the bytes to the loader: it sends each frame to a worker and back (two copies of
 * half a megabyte), then copies it once more on the page to settle its array type. For a 2,000-slice CT
 * that was most of the page's time; here a frame is converted in place, never copied.
 *
 * Plain functions over typed arrays; the per-pixel loop of the common CT case in WebAssembly SIMD.
 */

import pixelKernelsWasm from "./pixelKernels.wat";

const WASM_PAGE_BYTES = 65536;

// How the archive sends uncompressed frames: Explicit VR Little Endian (PS3.18 8.7.3.3.2), or Implicit
// from a server that names the stored syntax.
const NATIVE_TRANSFER_SYNTAXES = new Set(["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]);

/** The transfer-syntax parameter of a pixel data media type (PS3.18 8.7.3.3.2), if it has one. */
export function transferSyntaxOf(contentType: string | null): string | undefined {
  return /transfer-syntax="?([0-9.]+)/i.exec(contentType ?? "")?.[1];
}

/** Whether frames in this transfer syntax are the plain pixel values that nativeFrameDecode takes. */
export function isNativeTransferSyntax(transferSyntaxUid: string | undefined): boolean {
  return transferSyntaxUid !== undefined && NATIVE_TRANSFER_SYNTAXES.has(transferSyntaxUid);
}

/** What a frame's bytes mean: the Image Pixel module values that decide their decoding. */
export interface NativePixelFormat {
  rows: number;
  columns: number;
  bitsStored: number;
  pixelRepresentation: number;
  /** The modality rescale to apply beforehand, or null when the loader would not (none, or disabled). */
  scaling: { rescaleSlope: number; rescaleIntercept: number; modality?: string } | null;
}

export type FrameArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Float32Array;
type FrameArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor;

export interface NativeFrame {
  pixels: FrameArray;
  /** After the rescale when it was applied. */
  min: number;
  max: number;
  scaled: boolean;
}

/**
 * The smallest array type that holds every value in [min, max], as the image loader chooses it (its own
 * function for this is not among the package's exports).
 */
export function frameArrayType(min: number, max: number): FrameArrayConstructor {
  if (Number.isInteger(min) && Number.isInteger(max)) {
    if (min >= 0) {
      if (max <= 255) return Uint8Array;
      if (max <= 65535) return Uint16Array;
      if (max <= 4294967295) return Uint32Array;
    } else {
      if (min >= -128 && max <= 127) return Int8Array;
      if (min >= -32768 && max <= 32767) return Int16Array;
    }
  }
  return Float32Array;
}

/** The size of one frame's bytes. */
export function nativeFrameBytes(format: NativePixelFormat): number {
  return format.rows * format.columns * 2;
}

/**
 * The integer intercept whose addition to the stored values gives the rescaled ones, when the format is
 * the common CT case: unsigned stored values, a slope of 1 and an integer intercept. Null otherwise.
 */
export function int16Offset(format: NativePixelFormat): number | null {
  const { scaling } = format;
  return format.pixelRepresentation === 0 && scaling?.rescaleSlope === 1 && Number.isInteger(scaling.rescaleIntercept)
    ? scaling.rescaleIntercept
    : null;
}

/** Whether stored values in [low, high] plus ``offset`` (int16Offset) all fit signed 16 bits. */
export function offsetFits(offset: number, low: number, high: number): boolean {
  return frameArrayType(low + offset, high + offset) === Int16Array;
}

/**
 * The frame of rescaled values already in ``bytes`` as signed 16 bits, from [min, max]: stored values
 * offset in place, here or by the RLE decoder while it wrote them (rleFrames.ts).
 */
export function int16Frame(bytes: Uint8Array, min: number, max: number): NativeFrame {
  return { pixels: new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), min, max, scaled: true };
}

/**
 * Decode one frame of 16 bits allocated, one sample per pixel, little endian. ``bytes`` may be taken
 * over: when it is a whole buffer of its own and the result type is 16 bits wide, the result is written
 * over it (each value is read before its own place is written, so nothing is lost).
 */
export function nativeFrameDecode(bytes: Uint8Array, format: NativePixelFormat, takeOver: boolean): NativeFrame {
  const count = format.rows * format.columns;
  if (bytes.byteLength !== count * 2) {
    throw new RangeError(`A frame of ${format.rows}×${format.columns} is ${count * 2} bytes, not ${bytes.byteLength}`);
  }
  const ownBuffer =
    takeOver && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const source = ownBuffer ? bytes.buffer : bytes.slice().buffer;
  const signed = format.pixelRepresentation === 1;
  const scaling = format.scaling;
  const intercept = int16Offset(format);
  if (intercept !== null) {
    const offset = int16OffsetInPlace(source, count, intercept);
    if (offset) {
      return offset;
    }
  }
  const stored: Uint16Array | Int16Array = signed ? new Int16Array(source) : new Uint16Array(source);
  // Signed values stored in fewer than 16 bits carry their sign in bit (bitsStored - 1).
  const shift = signed && format.bitsStored < 16 ? 32 - format.bitsStored : 0;
  let min = Infinity;
  let max = -Infinity;
  for (let index = 0; index < count; index += 1) {
    let value = stored[index];
    if (shift) {
      value = (value << shift) >> shift;
      stored[index] = value;
    }
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (scaling) {
    const { rescaleSlope: slope, rescaleIntercept: intercept } = scaling;
    min = slope * min + intercept;
    max = slope * max + intercept;
  }
  const Constructor = frameArrayType(min, max);
  const pixels =
    Constructor.BYTES_PER_ELEMENT === 2 ? new Constructor(source as ArrayBuffer) : new Constructor(count);
  if (scaling) {
    const { rescaleSlope: slope, rescaleIntercept: intercept } = scaling;
    for (let index = 0; index < count; index += 1) {
      pixels[index] = stored[index] * slope + intercept;
    }
  } else if (pixels.buffer !== stored.buffer) {
    pixels.set(stored);
  }
  // Otherwise the same 16 bits under another name: every value fits both types, so its bits agree.
  return { pixels, min, max, scaled: scaling !== null };
}

/**
 * The common CT case in one pass instead of two: unsigned stored values, a slope of 1 and an integer
 * intercept, giving signed 16-bit values. The values are offset in place while the range is measured;
 * when the range then calls for another type, the stored values are put back (the offset is undone
 * modulo 2^16, which is exact) and null is returned for the general way.
 */
function int16OffsetInPlace(source: ArrayBufferLike, count: number, intercept: number): NativeFrame | null {
  const stored = new Uint16Array(source, 0, count);
  const pixels = new Int16Array(source, 0, count);
  const kernels = pixelKernels();
  let low = 65535;
  let high = 0;
  if (kernels) {
    [low, high] = kernels.offsetU16(stored, intercept);
  } else {
    for (let index = 0; index < count; index += 1) {
      const value = stored[index];
      if (value < low) low = value;
      if (value > high) high = value;
      pixels[index] = value + intercept;
    }
  }
  if (offsetFits(intercept, low, high)) {
    return int16Frame(new Uint8Array(source, 0, count * 2), low + intercept, high + intercept);
  }
  for (let index = 0; index < count; index += 1) {
    stored[index] = pixels[index] - intercept;
  }
  return null;
}

interface PixelKernels {
  /** Add ``offset`` to every value, modulo 2^16, in place; the range of the values before. */
  offsetU16(values: Uint16Array, offset: number): [number, number];
}

let kernelsMade: PixelKernels | null | undefined;

/**
 * The WebAssembly SIMD loops of pixelKernels.wat, eight pixels at a time: for a 512×512 frame 0.06 ms
 * against 0.48 ms for the JavaScript loop (Node 20 on this project's CI machine), a second of the
 * page's time for a 2,000-slice CT. Null where the browser has no WebAssembly SIMD.
 */
function pixelKernels(): PixelKernels | null {
  if (kernelsMade !== undefined) {
    return kernelsMade;
  }
  kernelsMade = null;
  if (typeof WebAssembly === "undefined" || !WebAssembly.validate(pixelKernelsWasm)) {
    return null;
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(pixelKernelsWasm));
  const memory = instance.exports.memory as WebAssembly.Memory;
  const offsetU16 = instance.exports.offsetU16 as (count: number, offset: number) => number;
  kernelsMade = {
    offsetU16(values, offset) {
      const pages = Math.ceil(values.byteLength / WASM_PAGE_BYTES) - memory.buffer.byteLength / WASM_PAGE_BYTES;
      if (pages > 0) {
        memory.grow(pages);
      }
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      new Uint8Array(memory.buffer).set(bytes);
      const range = offsetU16(values.length, offset);
      bytes.set(new Uint8Array(memory.buffer, 0, bytes.byteLength));
      return [range & 0xffff, range >>> 16];
    },
  };
  return kernelsMade;
}
