/**
 * Progressive loading: after the first image of each viewport is on screen, every series is fetched in
 * hanging order with a bounded number of requests in flight, and stops while the bounded cache is full.
 * Progress is reported per series, so the thumbnails can show it.
 */

import { Enums, cache, imageLoader } from "@cornerstonejs/core";

import type { SeriesStack } from "../display/seriesStack";

export interface SeriesProgress {
  seriesInstanceUID: string;
  loaded: number;
  total: number;
  failed: number;
}

const CACHE_HEADROOM = 0.9;

function cacheNearlyFull(): boolean {
  return cache.getCacheSize() >= cache.getMaxCacheSize() * CACHE_HEADROOM;
}

export async function seriesPrefetch(
  stack: SeriesStack,
  concurrency: number,
  report: (progress: SeriesProgress) => void,
): Promise<void> {
  const progress: SeriesProgress = {
    seriesInstanceUID: stack.seriesInstanceUID,
    loaded: 0,
    total: stack.imageIds.length,
    failed: 0,
  };
  const queue = [...stack.imageIds];
  report(progress);
  const worker = async (): Promise<void> => {
    for (let imageId = queue.shift(); imageId; imageId = queue.shift()) {
      if (cacheNearlyFull() && !cache.isLoaded(imageId)) {
        return;
      }
      try {
        await imageLoader.loadAndCacheImage(imageId, {
          priority: 0,
          requestType: Enums.RequestType.Prefetch,
        });
        progress.loaded += 1;
      } catch {
        progress.failed += 1;
      }
      report(progress);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

/** Prefetch series one after another, in the order given (the displayed ones first). */
export async function studyPrefetch(
  stacks: SeriesStack[],
  concurrency: number,
  report: (progress: SeriesProgress) => void,
): Promise<void> {
  for (const stack of stacks) {
    await seriesPrefetch(stack, concurrency, report);
  }
}
