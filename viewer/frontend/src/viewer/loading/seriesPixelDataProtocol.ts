/** The messages between the page and the series loading worker (seriesPixelDataWorker.ts). */

import type { FrameArrayType, NativePixelFormat } from "./nativeFrames";

export interface InstancePlan {
  sopInstanceUID: string;
  /** The instance's image ids, in frame order. */
  imageIds: string[];
  /** Set when its uncompressed frames may be decoded in the worker; null sends them to the page. */
  format: NativePixelFormat | null;
}

/** A frame decoded in the worker: its pixels (a whole buffer, moved), as nativeFrameDecode made them. */
export interface DecodedFrameMessage {
  imageId: string;
  buffer: ArrayBuffer;
  arrayType: FrameArrayType;
  min: number;
  max: number;
  scaled: boolean;
  decodeMs: number;
}

export type ToWorker =
  | { type: "start"; url: string; accept: string; instances: InstancePlan[]; encodedCredit: number }
  /** The page has made this many more of the encoded frames it was sent. */
  | { type: "credit"; count: number }
  /** Stop reading (the cache is full, or the page no longer wants the series). */
  | { type: "stop" };

export type ToPage =
  /** Frames ready for the cache, a few at a time (each message costs more than its size). */
  | { type: "decoded"; frames: DecodedFrameMessage[] }
  /** A frame's bytes for the DICOM image loader, in the transfer syntax the server sent. */
  | { type: "encoded"; imageId: string; bytes: Uint8Array; transferSyntaxUid: string }
  /** The server did not answer the Pixel Data resource: load frame by frame. */
  | { type: "unavailable"; status: number }
  | { type: "failed"; message: string }
  | { type: "done" };
