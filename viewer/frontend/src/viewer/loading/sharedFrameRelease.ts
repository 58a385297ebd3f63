/**
 * Frames in shared memory (frameMemory.ts) that the cache lets go of are freed only by a major garbage
 * collection, and V8 does not count shared memory towards starting one. Measured in this project's
 * Chromium: a gigabyte of dropped shared frames stayed mapped for as long as it was watched; an
 * unshared buffer of 64 MB made and dropped brought the collection, and the gigabyte was returned
 * within a second (16 MB did not). So the bytes of the shared frames the cache removes are counted, and
 * once they reach that step, an unshared buffer of their size is made and dropped: V8 counts that one.
 */

import { Enums, eventTarget } from "@cornerstonejs/core";

import { isShared } from "./frameMemory";

// V8's step of external memory between collections (its kExternalAllocationSoftLimit).
const COLLECTION_STEP = 64 * 1024 * 1024;

let releasedBytes = 0;
let watching = false;

interface CacheRemoval {
  image?: { image?: { getPixelData?: () => ArrayBufferView } };
}

function removalCount(event: Event): void {
  const pixels = (event as CustomEvent<CacheRemoval>).detail?.image?.image?.getPixelData?.();
  if (!pixels || !isShared(pixels.buffer)) {
    return;
  }
  releasedBytes += pixels.byteLength;
  if (releasedBytes >= COLLECTION_STEP) {
    void new ArrayBuffer(releasedBytes); // counted by V8 as it is made, which is all it is for
    releasedBytes = 0;
  }
}

/** Count the shared frames the cache removes from now on (once per page; unshared ones are not counted). */
export function sharedFrameReleaseWatch(): void {
  if (!watching) {
    watching = true;
    eventTarget.addEventListener(Enums.Events.IMAGE_CACHE_IMAGE_REMOVED, removalCount);
  }
}
