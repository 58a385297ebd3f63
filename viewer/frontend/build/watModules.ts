/**
 * Lets the viewer import a WebAssembly text module (`import bytes from "./x.wat"`): at build time the
 * text is compiled with WABT (the WebAssembly Binary Toolkit) and the module's bytes are inlined as
 * base64. The kernels are small (hundreds of bytes), so they are compiled synchronously where used,
 * without a request of their own.
 */
import { readFile } from "node:fs/promises";
import type { Plugin } from "vite";
import wabtInit from "wabt";

async function watCompile(path: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(path, await readFile(path, "utf8"), { simd: true });
  try {
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

export function watModules(): Plugin {
  return {
    name: "pacs:wat-modules",
    async load(id) {
      if (!id.endsWith(".wat")) {
        return null;
      }
      const base64 = Buffer.from(await watCompile(id)).toString("base64");
      // Pure: a bundle that imports the module without using it (the series worker, through shared
      // helpers) leaves the bytes out.
      const bytes = `/* @__PURE__ */ Uint8Array.from(/* @__PURE__ */ atob(${JSON.stringify(base64)}), (c) => c.charCodeAt(0))`;
      return `export default ${bytes};\n`;
    },
  };
}
