/**
 * Frames whose bytes the viewer already holds, for the DICOM image loader to decode instead of asking the
 * network for them: a metadata provider of the COMPRESSED_FRAME_DATA module, which the wadors loader
 * asks before it sends a request. The bytes stay here only until their image is made.
 */

import { metaData } from "@cornerstonejs/core";

const COMPRESSED_FRAME_DATA = "compressedFrameData";

export interface EncodedFrame {
  pixelData: Uint8Array;
  transferSyntaxUid: string;
}

const held = new Map<string, EncodedFrame>();
let providerAdded = false;

/** Offer ``frame`` as the bytes of ``imageId`` to the image loader, until withdrawn. */
export function encodedFrameOffer(imageId: string, frame: EncodedFrame): void {
  if (!providerAdded) {
    // Ahead of every other provider.
    metaData.addProvider((type: string, id: string) => (type === COMPRESSED_FRAME_DATA ? held.get(id) : undefined), 10_000);
    providerAdded = true;
  }
  held.set(imageId, frame);
}

export function encodedFrameWithdraw(imageId: string): void {
  held.delete(imageId);
}
