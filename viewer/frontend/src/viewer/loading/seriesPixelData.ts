/**
 * Loads every frame of a series from one WADO-RS Retrieve Pixel Data response (PS3.18 10.4.1.1.6)
 * instead of one request per frame: a 2,000-slice CT is one streamed response, not 2,000 round trips
 * through the server.
 *
 * The response is read in a worker (seriesPixelDataWorker.ts), which finds each part by its
 * Content-Location, the BulkDataURI of its instance's Pixel Data in the metadata (PS3.18 10.4.3.3.6): a
 * compressed instance has a part per frame, an uncompressed one a single part that holds its frames end to
 * end. Uncompressed grey frames are decoded here (nativeFrames.ts) and go straight into the cache
 * (decodedImage.ts); the rest are offered to the DICOM image loader (encodedFrames.ts), so each such
 * image is made exactly as for a frame fetched alone, decoded in the loader's workers.
 */

import { Enums, cache, imageLoader } from "@cornerstonejs/core";

import type { SeriesStack } from "../display/seriesStack";
import { Tag, stringValue } from "../dicomweb/tags";
import { decodedImageCache, ownDecodeFormat } from "./decodedImage";
import { type EncodedFrame, encodedFrameOffer, encodedFrameWithdraw } from "./encodedFrames";
import { frameBuffer, movable } from "./frameMemory";
import { type NativePixelFormat, int16Frame, nativeFrameBytes, nativeFrameDecode } from "./nativeFrames";
import type { InstancePlan, NativePartMessage, ToPage, ToWorker } from "./seriesPixelDataProtocol";
import { sharedFrameReleaseWatch } from "./sharedFrameRelease";

// RLE Lossless first: the archive keeps a copy of large grey series in it, half the bytes of the
// uncompressed frames, which the worker decodes (rleFrames.ts). Otherwise each instance as stored: its
// uncompressed frames, or its compressed ones for the image loader.
const PIXEL_DATA_ACCEPT =
  'multipart/related; type="image/dicom-rle"; transfer-syntax=1.2.840.10008.1.2.5, ' +
  'multipart/related; type="application/octet-stream"; transfer-syntax=*; q=0.9';
// Encoded frames handed to the image loader at once: enough to keep its decode workers busy, few enough
// that the frames waiting for them hold little memory (the worker sends more only as these are made).
const ENCODED_IN_FLIGHT = 8;
// Frame-size buffers the worker puts frames in, kept this many ahead of it. The page writes to each page
// of their memory first (frameMemory.ts), so that the worker, the thread the whole series waits on,
// does not take the page faults (half a second for a gigabyte of frames); this thread has time to spare.
const SPARE_BUFFERS = 16;

/**
 * Buffers for the single-frame instances the page decodes, as many as they are and at most
 * ``SPARE_BUFFERS`` ahead of the frames received: ``first()`` gives the first of each size,
 * ``more(count, size)`` the next to send.
 */
function spareBuffers(instances: InstancePlan[]): {
  first(): ArrayBufferLike[];
  more(count: number, size: number): ArrayBufferLike[];
} {
  const wanted = new Map<number, number>(); // frame size -> buffers still to make
  for (const plan of instances) {
    if (plan.format && plan.imageIds.length === 1) {
      const size = nativeFrameBytes(plan.format);
      wanted.set(size, (wanted.get(size) ?? 0) + 1);
    }
  }
  const more = (count: number, size: number): ArrayBufferLike[] => {
    const left = wanted.get(size) ?? 0;
    const made = Array.from({ length: Math.min(count, left) }, () => frameBuffer(size, { touched: true }));
    wanted.set(size, left - made.length);
    return made;
  };
  return { first: () => [...wanted.keys()].flatMap((size) => more(SPARE_BUFFERS, size)), more };
}

export interface PixelDataLoad {
  /** Called once per image of the series: in the cache, or failed. */
  onImage: (ok: boolean) => void;
  /** True to stop early (the cache is full). */
  shouldStop: () => boolean;
}

/** Each instance of the stack with its image ids in frame order, and how the page may decode it. */
function instancePlans(stack: SeriesStack): InstancePlan[] {
  const plans = new Map<string, InstancePlan>();
  for (const [imageId, instance] of stack.instanceByImageId) {
    const sop = stringValue(instance, Tag.SOPInstanceUID);
    const plan = plans.get(sop);
    if (plan) {
      plan.imageIds.push(imageId);
    } else {
      plans.set(sop, { sopInstanceUID: sop, imageIds: [imageId], format: ownDecodeFormat(imageId) });
    }
  }
  return [...plans.values()];
}

/**
 * Load the series' frames from its Pixel Data resource; resolve with the image ids it could not load
 * (all of them when the server does not offer the resource), in a new array the caller may consume, to
 * fetch frame by frame.
 */
export async function seriesPixelDataLoad(
  stack: SeriesStack,
  { onImage, shouldStop }: PixelDataLoad,
): Promise<string[]> {
  const instances = instancePlans(stack);
  const formats = new Map<string, NativePixelFormat>();
  for (const plan of instances) {
    for (const imageId of plan.format ? plan.imageIds : []) {
      formats.set(imageId, plan.format as NativePixelFormat);
    }
  }
  const done = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let worker: Worker;
  try {
    worker = new Worker(new URL("./seriesPixelDataWorker.ts", import.meta.url), { type: "module" });
  } catch (error) {
    console.warn("No worker for the series pixel data; loading frame by frame", error);
    return [...stack.imageIds];
  }
  const send = (message: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(message, transfer);
  sharedFrameReleaseWatch();
  const spare = spareBuffers(instances);
  const buffersSend = (buffers: ArrayBufferLike[]): void => {
    if (buffers.length > 0) {
      send({ type: "buffers", buffers }, movable(buffers));
    }
  };
  let stopped = false;
  const stop = (): void => {
    if (!stopped) {
      stopped = true;
      send({ type: "stop" });
    }
  };

  const encodedMake = (imageId: string, frame: EncodedFrame): void => {
    if (stopped || shouldStop()) {
      stop(); // what the cache cannot hold is left to the caller, which stops there too
      return;
    }
    done.add(imageId);
    if (cache.getImageLoadObject(imageId)) {
      onImage(true); // shown or prefetched already: the bytes are not needed
      send({ type: "credit", count: 1 });
      return;
    }
    encodedFrameOffer(imageId, frame);
    const made = imageLoader
      .loadAndCacheImage(imageId, { priority: 0, requestType: Enums.RequestType.Prefetch })
      .then(
        () => onImage(true),
        () => onImage(false),
      )
      .finally(() => {
        encodedFrameWithdraw(imageId);
        inFlight.delete(made);
        send({ type: "credit", count: 1 });
      });
    inFlight.add(made);
  };

  /** Make the frame's image, from its stored values or from values the worker rescaled already. */
  const frameDecode = (imageId: string, bytes: Uint8Array, whole: boolean, rescaled?: NativePartMessage["rescaled"]): void => {
    if (stopped || shouldStop()) {
      stop();
      return;
    }
    done.add(imageId);
    const format = formats.get(imageId);
    if (!format || cache.getImageLoadObject(imageId)) {
      onImage(true); // shown or prefetched already
      return;
    }
    try {
      const started = performance.now();
      const frame = rescaled ? int16Frame(bytes, rescaled.min, rescaled.max) : nativeFrameDecode(bytes, format, whole);
      decodedImageCache(imageId, frame, format, performance.now() - started);
      onImage(true);
    } catch {
      // The cache refused it (full), or it could not be made: the rest of the series is left to the
      // caller's frame by frame loading, which stops on a full cache as well.
      done.delete(imageId);
      stop();
    }
  };
  const partDecode = ({ imageIds, bytes, rescaled }: NativePartMessage): void => {
    if (imageIds.length === 1) {
      frameDecode(imageIds[0], bytes, true, rescaled);
      return;
    }
    const size = nativeFrameBytes(formats.get(imageIds[0]) as NativePixelFormat);
    imageIds.forEach((imageId, index) => frameDecode(imageId, bytes.subarray(index * size, (index + 1) * size), false));
  };

  const ended = new Promise<void>((resolve) => {
    worker.onerror = (event) => {
      console.warn("The series pixel data worker failed; loading the rest frame by frame", event.message);
      resolve();
    };
    worker.onmessage = (event: MessageEvent<ToPage>) => {
      const message = event.data;
      switch (message.type) {
        case "native":
          if (!stopped) {
            const sizes = new Map<number, number>();
            for (const part of message.parts) {
              sizes.set(part.bytes.byteLength, (sizes.get(part.bytes.byteLength) ?? 0) + 1);
            }
            for (const [size, count] of sizes) {
              buffersSend(spare.more(count, size));
            }
          }
          message.parts.forEach(partDecode);
          return;
        case "encoded":
          encodedMake(message.imageId, { pixelData: message.bytes, transferSyntaxUid: message.transferSyntaxUid });
          return;
        case "unavailable":
          console.warn(`Series pixel data not available (HTTP ${message.status}); loading frame by frame`);
          resolve();
          return;
        case "failed":
          if (!stopped) {
            console.warn("Series pixel data stopped; loading the rest frame by frame", message.message);
          }
          resolve();
          return;
        case "done":
          resolve();
      }
    };
  });
  send({
    type: "start",
    url: new URL(`${stack.seriesUrl}/pixeldata`, document.baseURI).href,
    accept: PIXEL_DATA_ACCEPT,
    instances,
    encodedCredit: ENCODED_IN_FLIGHT,
  });
  buffersSend(spare.first());
  await ended;
  worker.terminate();
  await Promise.all(inFlight);
  return stack.imageIds.filter((imageId) => !done.has(imageId));
}
