/**
 * Checks the RLE Lossless decoder of the series loading worker (src/viewer/loading/rleFrames.ts over
 * pixelKernels.wat) byte for byte:
 *   (a) against a plain decoder, over frames made by a small PackBits encoder here;
 *   (b) against frames of an independent encoder: with a directory argument, each `name.rle` in it
 *       decodes to `name.raw`, of the size in `name.json` ({"rows", "columns"});
 *   (c) malformed frames give the decoder's error status (and no frame), never a trap;
 *   (d) what the standard allows and an encoder may do: no-op headers, bytes after a full plane;
 *   (e) the modality rescale applied while decoding (the common CT case) against plain arithmetic, and
 *       left to the page where the values do not fit signed 16 bits or the rescale is another.
 * Prints one line per case and exits non-zero on any failure, then the decoding time of a 512×512 CT
 * slice. Run by tests/unit/test_viewer_rle_decode.py: `node build/checkRleDecode.mjs [fixtures]` in
 * viewer/frontend.
 *
 * The wrapper itself is run, not a copy of it: a module hook strips its types with the TypeScript
 * compiler and compiles the .wat import with WABT, as build/watModules.ts does for the bundle.
 */
import { readFile, readdir } from "node:fs/promises";
import { register } from "node:module";
import { join } from "node:path";

const hooks = `
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import ts from ${JSON.stringify(import.meta.resolve("typescript"))};
import wabtInit from ${JSON.stringify(import.meta.resolve("wabt"))};

// The sources import each other without an extension, as the bundler resolves them.
export async function resolve(specifier, context, nextResolve) {
  const relative = specifier.startsWith("./") || specifier.startsWith("../");
  const named = specifier.split("/").pop().includes(".");
  return nextResolve(relative && !named ? specifier + ".ts" : specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && url.endsWith(".ts")) {
    const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
    const { outputText } = ts.transpileModule(await readFile(fileURLToPath(url), "utf8"), { compilerOptions });
    return { format: "module", source: outputText, shortCircuit: true };
  }
  if (url.startsWith("file:") && url.endsWith(".wat")) {
    const wabt = await wabtInit();
    const parsed = wabt.parseWat(url, await readFile(fileURLToPath(url), "utf8"), { simd: true });
    try {
      parsed.validate();
      const bytes = Buffer.from(parsed.toBinary({}).buffer).toString("base64");
      const source = "export default new Uint8Array(Buffer.from(" + JSON.stringify(bytes) + ", 'base64'));";
      return { format: "module", source, shortCircuit: true };
    } finally {
      parsed.destroy();
    }
  }
  return nextLoad(url, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
const { rleFrameDecode, isRleTransferSyntax } = await import("../src/viewer/loading/rleFrames.ts");
const { default: pixelKernelsWasm } = await import("../src/viewer/loading/pixelKernels.wat");

// A second instance of the module, called directly, for the error statuses the wrapper reduces to null.
const raw = new WebAssembly.Instance(new WebAssembly.Module(pixelKernelsWasm)).exports;
raw.memory.grow(15); // 1 MiB: room for every malformed frame below

let failures = 0;
let passes = 0;
function report(ok, description, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${description}`);
  if (ok) {
    passes += 1;
  } else {
    failures += 1;
    if (detail) console.log(`     ${detail}`);
  }
}

// A small linear congruential generator: the same frames on every run.
let seed = 20261205;
const random16 = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed >>> 16;
};
const randomBelow = (limit) => Math.floor((random16() / 65536) * limit);

// ---- A PackBits encoder (PS3.5 G.3.1) and a plain decoder, written for clarity, not speed.

const made = { literal128: 0, replicate2: 0, replicate128: 0, splitRuns: 0, padBytes: 0, noOps: 0 };

function packBitsEncode(plane, { noOpEvery = 0 } = {}) {
  const out = [];
  let at = 0;
  let runs = 0;
  while (at < plane.length) {
    if (noOpEvery && ++runs % noOpEvery === 0) {
      out.push(0x80);
      made.noOps += 1;
    }
    let run = 1;
    while (at + run < plane.length && plane[at + run] === plane[at]) run += 1;
    if (run >= 2) {
      if (run > 128) made.splitRuns += 1;
      // A run longer than 128 becomes several; a single byte left over starts the next literal.
      while (run >= 2) {
        const length = Math.min(run, 128);
        out.push(257 - length, plane[at]);
        if (length === 2) made.replicate2 += 1;
        if (length === 128) made.replicate128 += 1;
        at += length;
        run -= length;
      }
      continue;
    }
    // A literal up to the next pair of equal bytes, at most 128.
    let end = at + 1;
    while (end < plane.length && end - at < 128 && !(end + 1 < plane.length && plane[end] === plane[end + 1])) end += 1;
    if (end - at === 128) made.literal128 += 1;
    out.push(end - at - 1, ...plane.subarray(at, end));
    at = end;
  }
  return out;
}

function segmentsFrame(segments) {
  const frame = new Uint8Array(64 + segments.reduce((sum, segment) => sum + segment.length, 0));
  const header = new DataView(frame.buffer);
  header.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((segment, index) => {
    header.setUint32(4 + 4 * index, offset, true);
    frame.set(segment, offset);
    offset += segment.length;
  });
  return frame;
}

function rleEncode(values, options = {}) {
  const high = Uint8Array.from(values, (value) => value >> 8);
  const low = Uint8Array.from(values, (value) => value & 0xff);
  return segmentsFrame(
    [high, low].map((plane) => {
      const segment = packBitsEncode(plane, options);
      if (segment.length % 2 === 1) {
        segment.push(0); // segments are an even number of bytes
        made.padBytes += 1;
      }
      return segment;
    }),
  );
}

function packBitsDecode(segment, size) {
  const plane = [];
  let at = 0;
  while (plane.length < size && at < segment.length) {
    const header = (segment[at++] << 24) >> 24;
    if (header >= 0) {
      for (let k = 0; k <= header; k += 1) plane.push(segment[at++]);
    } else if (header !== -128) {
      const value = segment[at++];
      for (let k = 0; k < 1 - header; k += 1) plane.push(value);
    }
  }
  return plane.length === size && !plane.includes(undefined) ? plane : null;
}

function referenceDecode(frame, pixels) {
  const header = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 64 || header.getUint32(0, true) !== 2) return null;
  const ends = [header.getUint32(4, true), header.getUint32(8, true), frame.length];
  const out = new Uint8Array(pixels * 2);
  for (let segment = 0; segment < 2; segment += 1) {
    const plane = packBitsDecode(frame.subarray(ends[segment], ends[segment + 1]), pixels);
    if (!plane) return null;
    // The first segment holds the most significant bytes: second in little-endian order.
    plane.forEach((value, index) => {
      out[2 * index + 1 - segment] = value;
    });
  }
  return out;
}

const littleEndian = (values) => new Uint8Array(Uint16Array.from(values).buffer);
const firstDifference = (a, b) =>
  a.length !== b.length ? `lengths ${a.length} and ${b.length}` : a.findIndex((value, index) => value !== b[index]);
const owned = (bytes) => bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;

function decodeCheck(description, frame, rows, columns, expected) {
  let decoded;
  try {
    decoded = rleFrameDecode(frame, { rows, columns, bitsStored: 16, pixelRepresentation: 0, scaling: null });
  } catch (error) {
    report(false, description, `threw ${error}`);
    return;
  }
  if (!decoded) {
    report(false, description, "no frame");
    return;
  }
  const difference = firstDifference(decoded.bytes, expected);
  const rescaled = JSON.stringify(decoded.rescaled);
  const detail = `first difference ${difference}; owns its buffer: ${owned(decoded.bytes)}; rescaled ${rescaled}`;
  report(difference === -1 && owned(decoded.bytes) && decoded.rescaled === null, description, detail);
}

// ---- CT-like frames: a noisy elliptical body on a constant background.

function ctSlice(rows, columns) {
  const values = new Uint16Array(rows * columns);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) {
      const y = (row - rows / 2) / (rows * 0.42);
      const x = (column - columns / 2) / (columns * 0.47);
      const inside = x * x + y * y < 1;
      values[row * columns + column] = inside ? 1000 + ((random16() + random16() + random16()) >> 11) - 48 : 0;
    }
  }
  return values;
}

// ---- (a) Generated frames against the plain decoder.

const contents = {
  "random 16-bit": () => random16(),
  "12-bit": () => random16() & 0xfff,
  constant: () => 1000,
  "long runs": null,
  alternating: null,
};
for (const [rows, columns] of [
  [1, 1],
  [1, 7],
  [3, 5],
  [64, 64],
  [512, 512],
]) {
  for (const kind of Object.keys(contents)) {
    const count = rows * columns;
    const values = new Uint16Array(count);
    if (kind === "long runs") {
      for (let at = 0; at < count; ) {
        const length = [1, 2, 127, 128, 129, 256, 257, 600][randomBelow(8)];
        values.fill(random16() & 0xfff, at, at + length);
        at += length;
      }
    } else if (kind === "alternating") {
      // The high bytes one long run, the low bytes never two alike.
      values.forEach((_, index) => (values[index] = index % 2 ? 0x01ff : 0x0100));
    } else {
      values.forEach((_, index) => (values[index] = contents[kind]()));
    }
    const frame = rleEncode(values);
    const expected = littleEndian(values);
    const reference = referenceDecode(frame, count);
    if (!reference || firstDifference(reference, expected) !== -1) {
      report(false, `generated ${rows}x${columns} ${kind}`, "the encoder and the plain decoder disagree");
      continue;
    }
    decodeCheck(`generated ${rows}x${columns} ${kind} (${frame.length} bytes)`, frame, rows, columns, reference);
  }
}
const missing = Object.entries(made)
  .filter(([name, count]) => name !== "noOps" && count === 0)
  .map(([name]) => name);
report(missing.length === 0, `the generated frames hold ${JSON.stringify(made)}`, `none of ${missing.join(", ")}`);

// ---- (b) Frames of an independent encoder.

const fixtures = process.argv[2];
let ctFixture = null;
if (fixtures) {
  const names = (await readdir(fixtures)).filter((name) => name.endsWith(".rle")).sort();
  if (names.length === 0) report(false, `fixtures in ${fixtures}`, "no .rle files");
  for (const name of names) {
    const stem = join(fixtures, name.slice(0, -".rle".length));
    const frame = new Uint8Array(await readFile(`${stem}.rle`));
    const expected = new Uint8Array(await readFile(`${stem}.raw`));
    const { rows, columns } = JSON.parse(await readFile(`${stem}.json`, "utf8"));
    decodeCheck(`fixture ${name} ${rows}x${columns} (${frame.length} bytes)`, frame, rows, columns, expected);
    if (rows === 512 && columns === 512 && name.startsWith("ct")) ctFixture ??= { name, frame };
  }
}

// ---- (c) Malformed frames.

const OK = 0;
const OUT_OF_MEMORY = 1;
const NOT_TWO_SEGMENTS = 2;
const BAD_OFFSETS = 3;
const HIGH_SEGMENT = 4;
const LOW_SEGMENT = 5;

const GUARD = 256;

// The output from 0 and the frame right after it, where a write past the output would land; then guard
// bytes, the scratch plane and guard bytes again. The status, or -1 when anything but the output and
// the scratch plane was written.
function rawDecode(frame, pixels) {
  const memory = new Uint8Array(raw.memory.buffer);
  const input = pixels * 2;
  const scratch = input + frame.length + GUARD;
  memory.set(frame, input);
  memory.fill(0xa5, input + frame.length, scratch);
  memory.fill(0xa5, scratch + pixels, scratch + pixels + GUARD);
  const status = raw.rleDecode16(input, frame.length, 0, pixels, scratch, 0);
  const after = memory.subarray(input, scratch);
  const untouched =
    after.every((value, index) => value === (index < frame.length ? frame[index] : 0xa5)) &&
    memory.subarray(scratch + pixels, scratch + pixels + GUARD).every((value) => value === 0xa5);
  return untouched ? status : -1;
}

function malformedCheck(description, frame, rows, columns, status) {
  let got;
  let wrapped;
  try {
    got = rawDecode(frame, rows * columns);
    wrapped = rleFrameDecode(frame, { rows, columns, bitsStored: 16, pixelRepresentation: 0, scaling: null });
  } catch (error) {
    report(false, description, `threw ${error}`);
    return;
  }
  const detail = `expected ${status}; wrapper gave ${wrapped}`;
  report(got === status && wrapped === null, `${description}: status ${got}`, detail);
}

const withHeader = (frame, index, value) => {
  const copy = frame.slice();
  new DataView(copy.buffer).setUint32(4 * index, value, true);
  return copy;
};
const valid = rleEncode(Uint16Array.from({ length: 64 }, () => random16() & 0xfff));
if (rawDecode(valid, 64) !== OK) report(false, "the malformed cases' base frame decodes");
malformedCheck("truncated low segment", valid.subarray(0, valid.length - 3), 8, 8, LOW_SEGMENT);
malformedCheck("high segment cut by the next offset", withHeader(valid, 2, 66), 8, 8, HIGH_SEGMENT);
malformedCheck("second offset past the end", withHeader(valid, 2, valid.length + 10), 8, 8, BAD_OFFSETS);
malformedCheck("second offset at the end", withHeader(valid, 2, valid.length), 8, 8, BAD_OFFSETS);
malformedCheck("first offset inside the header", withHeader(valid, 1, 16), 8, 8, BAD_OFFSETS);
malformedCheck("offsets not increasing", withHeader(valid, 2, 64), 8, 8, BAD_OFFSETS);
malformedCheck("first offset past the end", withHeader(valid, 1, 0xfffffff0), 8, 8, BAD_OFFSETS);
malformedCheck("3 segments", withHeader(valid, 0, 3), 8, 8, NOT_TWO_SEGMENTS);
malformedCheck("1 segment", withHeader(valid, 0, 1), 8, 8, NOT_TWO_SEGMENTS);
malformedCheck("header cut short", valid.subarray(0, 40), 8, 8, NOT_TWO_SEGMENTS);
malformedCheck("empty", new Uint8Array(0), 8, 8, NOT_TWO_SEGMENTS);
malformedCheck("segments short of a larger plane", valid, 8, 9, HIGH_SEGMENT);
// Two by two pixels: planes of 4 bytes.
malformedCheck("replicate run overflowing the plane", segmentsFrame([[0xfc, 1], [0xfd, 2]]), 2, 2, HIGH_SEGMENT);
const literalOverflow = segmentsFrame([[0xfd, 1], [4, 1, 2, 3, 4, 5, 0]]);
malformedCheck("literal run overflowing the plane", literalOverflow, 2, 2, LOW_SEGMENT);
malformedCheck("replicate run short of the plane", segmentsFrame([[0xfe, 1], [0xfd, 2]]), 2, 2, HIGH_SEGMENT);
malformedCheck("literal run past its segment", segmentsFrame([[0xfd, 1], [3, 1, 2]]), 2, 2, LOW_SEGMENT);
malformedCheck("replicate header without its byte", segmentsFrame([[0xfd], [0xfd, 2]]), 2, 2, HIGH_SEGMENT);
malformedCheck("only no-ops", segmentsFrame([[0x80, 0x80], [0xfd, 2]]), 2, 2, HIGH_SEGMENT);
// Planes large enough that the decoder's unchecked fast loop runs first and hands the malformed run
// to its checked loop.
const larger = rleEncode(Uint16Array.from({ length: 64 * 64 }, () => random16() & 0xfff));
malformedCheck("truncated low segment of a larger plane", larger.subarray(0, larger.length - 3), 64, 64, LOW_SEGMENT);
// 10 by 20 pixels: a run of 128 leaves 72 bytes of the plane, less than the next run of 128; the
// trailing bytes keep the segment long enough for the fast loop.
const overflowing = segmentsFrame([[0x81, 1, 0x81, 1, ...new Array(200).fill(0)], [0x81, 2, 0xb9, 2]]);
malformedCheck("replicate run overflowing a larger plane", overflowing, 10, 20, HIGH_SEGMENT);
// Arguments no caller of the wrapper passes, which must still not reach outside the memory.
const memoryEnd = raw.memory.buffer.byteLength;
// A scratch plane clear of the rest unless a case says otherwise.
const SCRATCH = 8192;
for (const [description, args] of [
  ["input past the memory's end", [memoryEnd - 10, 100, 0, 4, SCRATCH, 0]],
  ["input at the top of the address space", [0xfffffff0, 64, 0, 4, SCRATCH, 0]],
  ["input length wrapping the address space", [1024, 0xffffffff, 0, 4, SCRATCH, 0]],
  ["output past the memory's end", [0, 64, memoryEnd - 4, 4, SCRATCH, 0]],
  ["output larger than the memory", [0, 64, 1024, 0x7fffffff, SCRATCH, 0]],
  ["output overlapping the input", [0, 200, 100, 64, SCRATCH, 0]],
  ["scratch past the memory's end", [0, 64, 1024, 64, memoryEnd - 32, 0]],
  ["scratch overlapping the output", [0, 64, 1024, 64, 1100, 0]],
  ["scratch overlapping the input", [0, 64, 1024, 64, 32, 0]],
]) {
  let got;
  try {
    got = raw.rleDecode16(...args);
  } catch (error) {
    got = `a trap: ${error}`;
  }
  report(got === OUT_OF_MEMORY, `${description}: status ${got}`, `expected ${OUT_OF_MEMORY}`);
}
report(rleFrameDecode(valid, { rows: 0, columns: 8 }) === null, "no frame of 0 rows");

// ---- (d) Frames the standard allows that the generated ones do not show.

{
  // Planes of 984 bytes: long enough for the decoder's fast loop, with a checked tail after it.
  const [rows, columns] = [24, 41];
  const values = Uint16Array.from({ length: rows * columns }, (_, index) => (index % 7 < 3 ? 2048 : random16()));
  decodeCheck("no-op headers between runs", rleEncode(values, { noOpEvery: 3 }), rows, columns, littleEndian(values));
  const frame = rleEncode(values);
  const second = new DataView(frame.buffer).getUint32(8, true);
  const trailing = segmentsFrame([
    [...frame.subarray(64, second), 0xfd, 9, 0x80, 1, 2],
    [...frame.subarray(second), 7, 7, 7],
  ]);
  decodeCheck("bytes after both full planes", trailing, rows, columns, littleEndian(values));
  const inside = new Uint8Array(frame.length + 5);
  inside.set(frame, 3);
  const framed = inside.subarray(3, 3 + frame.length);
  decodeCheck("a frame inside a larger buffer", framed, rows, columns, littleEndian(values));
}
{
  // Into the caller's buffer when it is the frame's size (the page's touched buffers), else a new one.
  const [rows, columns] = [16, 20];
  const values = Uint16Array.from({ length: rows * columns }, () => random16());
  const format = { rows, columns, bitsStored: 16, pixelRepresentation: 0, scaling: null };
  const frame = rleEncode(values);
  const given = new ArrayBuffer(rows * columns * 2);
  const into = rleFrameDecode(frame, format, given);
  report(
    into !== null && into.bytes.buffer === given && firstDifference(into.bytes, littleEndian(values)) === -1,
    "decoded into the buffer given",
  );
  const tooSmall = new ArrayBuffer(rows * columns * 2 - 2);
  const fresh = rleFrameDecode(frame, format, tooSmall);
  report(
    fresh !== null &&
      fresh.bytes.buffer !== tooSmall &&
      owned(fresh.bytes) &&
      firstDifference(fresh.bytes, littleEndian(values)) === -1,
    "a buffer of another size is left alone: a new one",
  );
}

// ---- (e) The rescale applied while decoding.

const ctFormat = (rows, columns, scaling, pixelRepresentation = 0) => ({
  rows,
  columns,
  bitsStored: 16,
  pixelRepresentation,
  scaling,
});
const CT_SCALING = { rescaleSlope: 1, rescaleIntercept: -1024 };

function rescaleCheck(description, values, format) {
  const decoded = rleFrameDecode(rleEncode(values), format);
  const intercept = format.scaling.rescaleIntercept;
  const expected = Int16Array.from(values, (value) => value + intercept);
  const min = expected.reduce((least, value) => Math.min(least, value));
  const max = expected.reduce((most, value) => Math.max(most, value));
  const pixels = decoded && new Int16Array(decoded.bytes.buffer, decoded.bytes.byteOffset, values.length);
  const difference = pixels ? firstDifference(pixels, expected) : "no frame";
  const rescaled = decoded?.rescaled;
  report(
    difference === -1 && rescaled?.min === min && rescaled?.max === max,
    description,
    `first difference ${difference}; rescaled ${JSON.stringify(rescaled)}, expected ${min}..${max}`,
  );
}

// The range's extremes in the SIMD blocks, in the tail of fewer than 16 pixels, and in a frame that is
// all tail; values across the whole unsigned range that still fit once offset.
for (const [rows, columns, place] of [
  [3, 5, "a frame shorter than a block"],
  [24, 41, "the blocks"],
  [24, 41, "the tail"],
  [512, 512, "a CT slice"],
]) {
  const values =
    rows === 512 ? ctSlice(rows, columns) : Uint16Array.from({ length: rows * columns }, () => 1000 + randomBelow(3000));
  if (place === "the blocks") {
    values[17] = 0;
    values[40] = 33791;
  } else if (place !== "a CT slice") {
    values[values.length - 1] = 0;
    values[values.length - 2] = 33791;
  }
  const description = `rescaled while decoding, the range's extremes in ${place} (${rows}x${columns})`;
  rescaleCheck(description, values, ctFormat(rows, columns, CT_SCALING));
}
{
  // Values the intercept takes past 32767 need another array type: the stored values are left for the
  // page's general decoding, unchanged.
  const values = Uint16Array.from({ length: 64 * 64 }, () => random16());
  values[5] = 65535;
  const stored = littleEndian(values);
  for (const [description, format] of [
    ["not rescaled where the values would not fit 16 bits signed", ctFormat(64, 64, CT_SCALING)],
    ["not rescaled with a slope other than 1", ctFormat(64, 64, { rescaleSlope: 2, rescaleIntercept: -1024 })],
    ["not rescaled with a fractional intercept", ctFormat(64, 64, { rescaleSlope: 1, rescaleIntercept: -1024.5 })],
    ["not rescaled when the values are signed", ctFormat(64, 64, CT_SCALING, 1)],
    ["not rescaled without a rescale", ctFormat(64, 64, null)],
  ]) {
    const decoded = rleFrameDecode(rleEncode(values), format);
    const difference = decoded ? firstDifference(decoded.bytes, stored) : "no frame";
    const detail = `first difference ${difference}; rescaled ${JSON.stringify(decoded?.rescaled)}`;
    report(difference === -1 && decoded.rescaled === null, description, detail);
  }
}
report(
  isRleTransferSyntax("1.2.840.10008.1.2.5") &&
    !isRleTransferSyntax("1.2.840.10008.1.2.1") &&
    !isRleTransferSyntax("1.2.840.10008.1.2.5.1") &&
    !isRleTransferSyntax(undefined),
  "isRleTransferSyntax names RLE Lossless only",
);

console.log(`${passes} passed, ${failures} failed`);

// ---- The time of a CT slice, the copies in and out included.

function timeDecode(description, frame) {
  const format = ctFormat(512, 512, CT_SCALING);
  for (let index = 0; index < 50; index += 1) rleFrameDecode(frame, format);
  const times = [];
  for (let index = 0; index < 400; index += 1) {
    const started = performance.now();
    rleFrameDecode(frame, format);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(`time rleFrameDecode ${description} (${frame.length} bytes): median ${median.toFixed(3)} ms of 400`);
}
timeDecode("512x512 generated CT slice", rleEncode(ctSlice(512, 512)));
if (ctFixture) timeDecode(`512x512 ${ctFixture.name}`, ctFixture.frame);

process.exit(failures === 0 ? 0 : 1);
