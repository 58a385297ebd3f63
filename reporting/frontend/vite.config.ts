/**
 * Builds the report editor into static/reporting/ of the Django project under fixed names
 * (workspace.js, workspace.css) that reporting/workspace.html loads with {% static %}; collectstatic's
 * manifest storage adds the content hashes in production. Nothing is fetched from another origin.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

export default defineConfig({
  base: "./",
  build: {
    outDir: here("../../static/reporting"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    rollupOptions: {
      input: { workspace: here("src/main.ts") },
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "[name].js",
        assetFileNames: "[name][extname]",
      },
    },
  },
});
