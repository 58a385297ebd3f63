/**
 * Checks the WebAssembly kernels of src/viewer/loading/pixelKernels.wat against plain loops, value for
 * value, over frame sizes that do and do not fill whole vectors and values at both ends of the 16-bit
 * range. Prints one line per case and exits non-zero on the first difference.
 * Run by tests/unit/test_viewer_pixel_kernels.py: `node build/checkPixelKernels.mjs` in viewer/frontend.
 */
import { readFile } from "node:fs/promises";
import wabtInit from "wabt";

const source = new URL("../src/viewer/loading/pixelKernels.wat", import.meta.url);
const wabt = await wabtInit();
const parsed = wabt.parseWat("pixelKernels.wat", await readFile(source, "utf8"), { simd: true });
parsed.validate();
const instance = new WebAssembly.Instance(new WebAssembly.Module(parsed.toBinary({}).buffer));
const { memory, offsetU16 } = instance.exports;

// A small linear congruential generator: the same values on every run.
let seed = 12345;
const random16 = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed >>> 16;
};

function reference(values, offset) {
  let low = 65535;
  let high = 0;
  const out = new Uint16Array(values.length);
  values.forEach((value, index) => {
    low = Math.min(low, value);
    high = Math.max(high, value);
    out[index] = (value + offset) & 0xffff;
  });
  return { low, high, out };
}

let failures = 0;
for (const count of [1, 7, 8, 9, 15, 16, 17, 63 * 63, 512 * 512]) {
  for (const offset of [-1024, 1024, 0, -32768, 32767]) {
    for (const spread of ["full", "12-bit", "constant"]) {
      const values = new Uint16Array(count);
      for (let index = 0; index < count; index += 1) {
        values[index] = spread === "full" ? random16() : spread === "12-bit" ? random16() & 0xfff : 2048;
      }
      if (spread === "full" && count > 2) {
        values[count - 1] = 65535; // the extremes in the tail, where the vectors do not reach
        values[count - 2] = 0;
      }
      const expected = reference(values, offset);
      const needed = Math.ceil((count * 2) / 65536) - memory.buffer.byteLength / 65536;
      if (needed > 0) memory.grow(needed);
      new Uint16Array(memory.buffer, 0, count).set(values);
      const range = offsetU16(count, offset);
      const got = new Uint16Array(memory.buffer, 0, count);
      const low = range & 0xffff;
      const high = range >>> 16;
      const firstDifference = expected.out.findIndex((value, index) => value !== got[index]);
      const ok = low === expected.low && high === expected.high && firstDifference === -1;
      console.log(`${ok ? "ok  " : "FAIL"} offsetU16 count=${count} offset=${offset} values=${spread}: range ${low}..${high}`);
      if (!ok) {
        failures += 1;
        console.log(`     expected ${expected.low}..${expected.high}; first differing value at ${firstDifference}`);
      }
    }
  }
}
process.exit(failures === 0 ? 0 : 1);
