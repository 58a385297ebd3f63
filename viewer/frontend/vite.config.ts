/**
 * Builds the viewer and the study browser into static/viewer/ of the Django project, with a
 * manifest.json that the `vite_assets` template tag reads. Everything (workers, codecs) is emitted
 * there; nothing is loaded from another origin.
 */
import { fileURLToPath } from "node:url";
import { createLogger, defineConfig } from "vite";

import { codecAssets } from "./build/codecAssets";
import { watModules } from "./build/watModules";

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

// The codecs' Emscripten glue mentions Node's fs and path for running under Node; the browser build
// never takes that branch, so Vite's note about externalizing them is noise on every build.
const logger = createLogger();
const warn = logger.warn;
logger.warn = (message, options) => {
  if (!message.includes("externalized for browser compatibility")) {
    warn(message, options);
  }
};

export default defineConfig({
  // Relative URLs: the bundles find their chunks, workers and codecs wherever STATIC_URL puts them.
  base: "./",
  customLogger: logger,
  plugins: [codecAssets(), watModules()],
  worker: {
    format: "es",
    plugins: () => [codecAssets(), watModules()],
  },
  build: {
    outDir: here("../../static/viewer"),
    emptyOutDir: true,
    manifest: "manifest.json",
    target: "es2022",
    // The codecs are several hundred kilobytes each and load on demand inside workers.
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: {
        viewer: here("src/viewer/main.ts"),
        browser: here("src/browser/main.ts"),
      },
      output: {
        // Rollup names a shared chunk after one of its modules; the shared chunks of the tools package,
        // which the viewer imports after its first image (src/viewer/imageTools.ts), are named for it.
        chunkFileNames: (chunk) =>
          !chunk.isDynamicEntry && chunk.moduleIds.some((id) => id.includes("/node_modules/@cornerstonejs/tools/"))
            ? "assets/cornerstone-tools-[hash].js"
            : "assets/[name]-[hash].js",
      },
    },
  },
  optimizeDeps: {
    exclude: ["@cornerstonejs/dicom-image-loader"],
    include: ["dicom-parser"],
  },
});
