/**
 * The DICOM image loader's decoders locate their WebAssembly with
 * `new URL('@cornerstonejs/codec-x/decodewasm', import.meta.url)`: a bare package specifier, which
 * Vite's asset handling leaves untouched (it resolves relative paths only), so the codec would be
 * fetched from a URL that does not exist. This plugin resolves each specifier to the file the package
 * exports and rewrites it as a relative path, so Vite emits the .wasm beside the worker bundle.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type { Plugin } from "vite";

const BARE_CODEC_URL = /new URL\(\s*(['"])(@cornerstonejs\/codec-[^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

export function codecAssets(): Plugin {
  const require = createRequire(import.meta.url);
  return {
    name: "pacs:codec-assets",
    enforce: "pre",
    transform(code, id) {
      if (!id.includes("@cornerstonejs/dicom-image-loader") || !code.includes("@cornerstonejs/codec-")) {
        return null;
      }
      const rewritten = code.replace(BARE_CODEC_URL, (_match, _quote: string, specifier: string) => {
        const file = require.resolve(specifier, { paths: [path.dirname(id)] });
        let relative = path.relative(path.dirname(id), file).split(path.sep).join("/");
        if (!relative.startsWith(".")) {
          relative = `./${relative}`;
        }
        return `new URL(${JSON.stringify(relative)}, import.meta.url)`;
      });
      return { code: rewritten, map: null };
    },
  };
}
