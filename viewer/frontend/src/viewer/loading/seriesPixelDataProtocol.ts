/** The messages between the page and the series loading worker (seriesPixelDataWorker.ts). */

import type { NativePixelFormat } from "./nativeFrames";

export interface InstancePlan {
  sopInstanceUID: string;
  /** The instance's image ids, in frame order. */
  imageIds: string[];
  /** Set when the page may decode its uncompressed frames itself; null leaves them to the image loader. */
  format: NativePixelFormat | null;
}

/** An instance's uncompressed frames, end to end in their part's bytes (a whole buffer, moved or shared). */
export interface NativePartMessage {
  imageIds: string[];
  bytes: Uint8Array;
  /** Set when the single frame's values are rescaled already, as signed 16 bits in this range (rleFrames.ts). */
  rescaled?: { min: number; max: number };
}

export type ToWorker =
  | { type: "start"; url: string; accept: string; instances: InstancePlan[]; encodedCredit: number }
  /**
   * Buffers of a frame's size for the worker to put frames in, written to by the page beforehand so that
   * their memory is mapped (moved, or shared: frameMemory.ts).
   */
  | { type: "buffers"; buffers: ArrayBufferLike[] }
  /** The page has made this many more of the encoded frames it was sent. */
  | { type: "credit"; count: number }
  /** Stop reading (the cache is full, or the page no longer wants the series). */
  | { type: "stop" };

export type ToPage =
  /** Uncompressed parts for the page to decode (nativeFrames.ts), a few at a time: a message costs more than its size. */
  | { type: "native"; parts: NativePartMessage[] }
  /** A frame's bytes for the DICOM image loader, in the transfer syntax the server sent. */
  | { type: "encoded"; imageId: string; bytes: Uint8Array; transferSyntaxUid: string }
  /** The server did not answer the Pixel Data resource: load frame by frame. */
  | { type: "unavailable"; status: number }
  | { type: "failed"; message: string }
  | { type: "done" };
