/**
 * Progressive loading: after the first image of each viewport is on screen, every series is fetched in
 * hanging order, and stops while the bounded cache is full. A series comes in one Pixel Data response
 * (``seriesPixelData``); what that could not bring is fetched frame by frame with a bounded number of
 * requests in flight. Progress is reported per series, so the thumbnails can show it.
 */

import { Enums, cache, imageLoader } from "@cornerstonejs/core";

import type { SeriesStack } from "../display/seriesStack";
import { seriesPixelDataLoad } from "./seriesPixelData";

export interface SeriesProgress {
  seriesInstanceUID: string;
  loaded: number;
  total: number;
  failed: number;
}

const CACHE_HEADROOM = 0.9;
const PROGRESS_INTERVAL_MS = 500;

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
  report(progress);
  // Images arrive by the hundred a second. Each redraw of the page costs a frame from the compositor,
  // which in a browser without a GPU (software WebGL, a thin client) takes tens of milliseconds of the
  // same CPU that decodes the images (43 ms for the viewer's page in headless Chromium on the project's
  // 2-core CI machine): the bar moves twice a second, not once a screen refresh.
  let reportTimer: number | undefined;
  const count = (ok: boolean): void => {
    if (ok) {
      progress.loaded += 1;
    } else {
      progress.failed += 1;
    }
    reportTimer ??= window.setTimeout(() => {
      reportTimer = undefined;
      report(progress);
    }, PROGRESS_INTERVAL_MS);
  };
  const queue = await seriesPixelDataLoad(stack, {
    onImage: count,
    shouldStop: cacheNearlyFull,
  });
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
        count(true);
      } catch {
        count(false);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  window.clearTimeout(reportTimer);
  report(progress);
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
