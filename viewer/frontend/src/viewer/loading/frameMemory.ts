/**
 * The memory a series' decoded frames live in: buffers of a frame's size, shared between the page and
 * the loading worker when the page is cross-origin isolated (the server sends the headers for it,
 * pacs/isolation.py), unshared ArrayBuffers otherwise. Used on both sides of that worker.
 *
 * Why shared memory: V8 counts every unshared ArrayBuffer as external memory of its thread, and starts a
 * major garbage collection each time that has grown by some 64 MB. A 2,000-slice CT is a gigabyte of
 * frames that are all kept. A SharedArrayBuffer is not counted (V8 accounts shared backing stores to no
 * one isolate). In Chromium traces of the benchmark's CT (headless, 2 cores, one load each), the page
 * made 9 major collections and its workers 16 with unshared frames, and their concurrent marking took
 * 0.89 s of CPU; with shared frames, 1 and none, and 0.04 s.
 *
 * The cost of it is in sharedFrameRelease.ts: frames the cache lets go wait for a collection that
 * their size never asks for.
 */

const MEMORY_PAGE = 4096;

/** Whether frames can be shared with workers here (page or worker alike). */
export function sharedMemoryAvailable(): boolean {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== "undefined";
}

export function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}

/**
 * A buffer of ``size`` bytes for a frame, shared where it can be. ``touched`` writes a byte to each
 * memory page of it, so that the page faults are taken here rather than by the thread that fills it.
 */
export function frameBuffer(size: number, { touched }: { touched: boolean }): ArrayBufferLike {
  const buffer = sharedMemoryAvailable() ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  if (touched) {
    const bytes = new Uint8Array(buffer);
    for (let index = 0; index < size; index += MEMORY_PAGE) {
      bytes[index] = 0;
    }
  }
  return buffer;
}

/** The buffers among these that can be moved to another thread: shared ones are shared instead. */
export function movable(buffers: ArrayBufferLike[]): ArrayBuffer[] {
  return buffers.filter((buffer): buffer is ArrayBuffer => !isShared(buffer));
}
