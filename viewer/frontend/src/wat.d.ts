/** A WebAssembly text module, compiled at build time (build/watModules.ts): its binary module's bytes. */
declare module "*.wat" {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
