/**
 * Starts what the first image needs: Cornerstone3D's rendering core and the DICOM image loader with its
 * decode workers. The tools start later, with the code that uses them (see imageTools).
 */

import { cache, init as coreInit } from "@cornerstonejs/core";
import { init as imageLoaderInit } from "@cornerstonejs/dicom-image-loader";

/** Each frame asked for as the stored bytes, in whatever transfer syntax they are stored. */
export const FRAME_ACCEPT = "application/octet-stream; transfer-syntax=*";

export function cornerstoneStart({ cacheSizeMb }: { cacheSizeMb: number }): void {
  coreInit();
  // Decoding (JPEG 2000, JPEG-LS, JPEG lossless, RLE) runs in these workers, never on the UI thread.
  const cores = navigator.hardwareConcurrency || 2;
  imageLoaderInit({
    maxWebWorkers: Math.max(1, Math.min(4, cores - 1)),
    // Each request is one frame: asked for as a single part payload (PS3.18 8.6), it arrives as the
    // pixel data itself, with its transfer syntax in the Content-Type, and the page does not scan half
    // a megabyte per frame for a multipart boundary.
    beforeSend: () => ({ Accept: FRAME_ACCEPT }),
  });
  cache.setMaxCacheSize(cacheSizeMb * 1024 * 1024);
}
