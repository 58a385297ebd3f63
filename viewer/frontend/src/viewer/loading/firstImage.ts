/**
 * The first image of a viewport, fetched by the page itself and, when it is an uncompressed 16-bit grey
 * frame, decoded here (decodedImage.ts, nativeFrames.ts). The DICOM image loader would first start its
 * decode worker and send the frame there and back while the viewer waits for its first image; here the
 * frame is made into an image the moment it arrives. A compressed frame goes to the loader with the
 * bytes already fetched (encodedFrames.ts); after a failed request the loader asks again itself.
 *
 * The image's load is in Cornerstone's cache from the start, so the viewport that shows it, asking the
 * cache, waits for this request rather than sending one of its own.
 */

import { Enums, cache, imageLoader } from "@cornerstonejs/core";
import type { Types } from "@cornerstonejs/core";

import { FRAME_ACCEPT } from "../cornerstone/start";
import { decodedImageMake, ownDecodeFormat } from "./decodedImage";
import { encodedFrameOffer, encodedFrameWithdraw } from "./encodedFrames";
import { type NativePixelFormat, isNativeTransferSyntax, nativeFrameBytes, nativeFrameDecode, transferSyntaxOf } from "./nativeFrames";

const WADORS_SCHEME = /^wadors:/;
const LOADER_OPTIONS = { priority: -5, requestType: Enums.RequestType.Interaction };

async function imageLoad(imageId: string, format: NativePixelFormat): Promise<Types.IImage> {
  const response = await fetch(imageId.replace(WADORS_SCHEME, ""), {
    credentials: "same-origin",
    headers: { Accept: FRAME_ACCEPT },
  }).catch(() => null);
  const transferSyntaxUid = transferSyntaxOf(response?.headers.get("Content-Type") ?? null);
  const bytes = response?.ok && transferSyntaxUid ? new Uint8Array(await response.arrayBuffer()) : null;
  if (bytes && isNativeTransferSyntax(transferSyntaxUid) && bytes.byteLength === nativeFrameBytes(format)) {
    const started = performance.now();
    const frame = nativeFrameDecode(bytes, format, true);
    return decodedImageMake(imageId, frame, format, performance.now() - started);
  }
  if (bytes && transferSyntaxUid) {
    encodedFrameOffer(imageId, { pixelData: bytes, transferSyntaxUid });
  }
  try {
    // The cache holds this very load: the loader is asked past it.
    return await imageLoader.loadImage(imageId, { ...LOADER_OPTIONS, ignoreCache: true });
  } finally {
    encodedFrameWithdraw(imageId);
  }
}

/** Start loading ``imageId`` into the cache, ahead of the viewport that will show it. */
export function firstImageLoad(imageId: string): void {
  if (cache.getImageLoadObject(imageId)) {
    return;
  }
  const format = ownDecodeFormat(imageId);
  if (!format) {
    imageLoader.loadAndCacheImage(imageId, LOADER_OPTIONS).catch(() => undefined);
    return;
  }
  // A failure reaches the viewport through the same promise; here it is only kept from being unhandled.
  cache.putImageLoadObject(imageId, { promise: imageLoad(imageId, format) }).catch(() => undefined);
}
