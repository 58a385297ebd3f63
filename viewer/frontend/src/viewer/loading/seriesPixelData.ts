/**
 * Loads every frame of a series from one WADO-RS Retrieve Pixel Data response (PS3.18 10.4.1.1.6)
 * instead of one request per frame: a 2,000-slice CT is one streamed response, not 2,000 round trips
 * through the server.
 *
 * Each part is located by its Content-Location, the BulkDataURI of its instance's Pixel Data in the
 * metadata (PS3.18 10.4.3.3.6): a compressed instance has a part per frame, an uncompressed one a single
 * part that holds its frames end to end. The bytes go to the DICOM image loader through Cornerstone's
 * compressed frame registry (a metadata provider of the COMPRESSED_FRAME_DATA module, which the wadors
 * loader asks before it goes to the network), so each image is made exactly as for a frame fetched
 * alone, decoded in the loader's workers.
 */

import { Enums, cache, imageLoader, metaData } from "@cornerstonejs/core";

import type { SeriesStack } from "../display/seriesStack";
import { Tag, stringValue } from "../dicomweb/tags";
import { MultipartReader, boundaryOf } from "./multipartReader";

const COMPRESSED_FRAME_DATA = "compressedFrameData";
const PIXEL_DATA_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
// Images being made at once: enough to keep the decode workers busy, few enough that the frames
// waiting for them hold little memory (the response is read no faster than they are made).
const IN_FLIGHT = 8;
const LOCATION = /\/instances\/([^/]+)\/bulk\/7FE00010$/i;
const TRANSFER_SYNTAX = /transfer-syntax=([0-9.]+)/i;
// What the archive sends uncompressed frames as: Explicit VR Little Endian (PS3.18 8.7.3.3.2), or
// Implicit from a server that names the stored syntax.
const NATIVE_SYNTAXES = new Set(["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]);

interface FrameBytes {
  pixelData: Uint8Array;
  transferSyntaxUid: string;
}

const received = new Map<string, FrameBytes>();
let registryInstalled = false;

function registryInstall(): void {
  if (!registryInstalled) {
    // Ahead of every other provider: the bytes are here only until their image is made.
    const provider = (type: string, imageId: string): FrameBytes | undefined =>
      type === COMPRESSED_FRAME_DATA ? received.get(imageId) : undefined;
    metaData.addProvider(provider, 10_000);
    registryInstalled = true;
  }
}

export interface PixelDataLoad {
  /** Called once per image of the series: in the cache, or failed. */
  onImage: (ok: boolean) => void;
  /** True to stop early (the cache is full). */
  shouldStop: () => boolean;
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
  registryInstall();
  // Each instance's image ids, in frame order (the stack lists an instance's frames one after another).
  const framesBySop = new Map<string, string[]>();
  for (const [imageId, instance] of stack.instanceByImageId) {
    const sop = stringValue(instance, Tag.SOPInstanceUID);
    const frames = framesBySop.get(sop) ?? [];
    frames.push(imageId);
    framesBySop.set(sop, frames);
  }
  const done = new Set<string>();
  const url = `${stack.seriesUrl}/pixeldata`;
  const inFlight = new Set<Promise<void>>();
  const partsSeen = new Map<string, number>();
  let reader: MultipartReader | null = null;

  const imageMake = (imageId: string, frame: FrameBytes): void => {
    done.add(imageId);
    if (cache.getImageLoadObject(imageId)) {
      onImage(true); // shown or prefetched already: the bytes are not needed
      return;
    }
    received.set(imageId, frame);
    const made = imageLoader
      .loadAndCacheImage(imageId, { priority: 0, requestType: Enums.RequestType.Prefetch })
      .then(
        () => onImage(true),
        () => onImage(false),
      )
      .finally(() => {
        received.delete(imageId);
        inFlight.delete(made);
      });
    inFlight.add(made);
  };

  try {
    const response = await fetch(url, { headers: { Accept: PIXEL_DATA_ACCEPT }, credentials: "same-origin" });
    if (!response.ok || !response.body) {
      console.warn(`Series pixel data not available (HTTP ${response.status}); loading frame by frame`);
      return [...stack.imageIds];
    }
    reader = new MultipartReader(response.body, boundaryOf(response.headers.get("Content-Type")));
    for (let part = await reader.next(); part; part = await reader.next()) {
      if (shouldStop()) {
        reader.cancel();
        break;
      }
      const sop = LOCATION.exec(part.headers.get("content-location") ?? "")?.[1];
      const frames = sop ? framesBySop.get(sop) : undefined;
      const transferSyntaxUid = TRANSFER_SYNTAX.exec(part.headers.get("content-type") ?? "")?.[1];
      if (!sop || !frames || !transferSyntaxUid) {
        continue; // an instance the stack does not show
      }
      const seen = partsSeen.get(sop) ?? 0;
      partsSeen.set(sop, seen + 1);
      if (!NATIVE_SYNTAXES.has(transferSyntaxUid) || frames.length === 1) {
        if (seen < frames.length) {
          imageMake(frames[seen], { pixelData: part.body, transferSyntaxUid });
        }
      } else {
        // Uncompressed frames are the same size, end to end in the instance's Pixel Data.
        const size = part.body.length / frames.length;
        frames.forEach((imageId, index) => {
          imageMake(imageId, { pixelData: part.body.slice(index * size, (index + 1) * size), transferSyntaxUid });
        });
      }
      while (inFlight.size >= IN_FLIGHT) {
        await Promise.race(inFlight);
      }
    }
  } catch (error) {
    reader?.cancel();
    console.warn("Series pixel data stopped; loading the rest frame by frame", error);
  }
  await Promise.all(inFlight);
  return stack.imageIds.filter((imageId) => !done.has(imageId));
}
