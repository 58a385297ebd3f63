/**
 * Reads a series' Pixel Data response off the page's thread: the multipart parts as they stream in,
 * moved (not copied) to the page, which decodes uncompressed grey frames itself (nativeFrames.ts) and
 * hands every other part to the DICOM image loader's decode workers. Reading a gigabyte keeps a thread
 * busy on its own; decoding beside it, on the page's thread, overlaps the two.
 *
 * RLE Lossless frames of the grey images the page decodes (the archive's half-size copy of large
 * series) are decoded here instead, into uncompressed bytes (rleFrames.ts), rescaled already in the
 * common CT case: the page then makes them as its own, and the loader's workers, with their copies to
 * and fro, are left out.
 *
 * The protocol is in seriesPixelDataProtocol.ts. Encoded parts are sent against credit, so a page that
 * decodes slower than the network brings them does not pile up the whole series in memory.
 *
 * Where the frames end up: memory new to the process costs a page fault per 4 KiB when first written,
 * half a second for the gigabyte of a 2,000-slice CT, which this thread would spend between reads. The
 * page sends buffers of a frame's size that it has touched already (``buffers``); an uncompressed frame
 * is read into one, a decoded RLE frame copied into one. An RLE frame itself is read into one buffer
 * kept for the next. Without a spare buffer, a new one is made here. When the page is cross-origin
 * isolated all these buffers are shared memory (frameMemory.ts): the page sees what is written there,
 * and the message that names the frame moves nothing.
 */

import { frameBuffer, movable, sharedMemoryAvailable } from "./frameMemory";
import { MultipartReader, type PartBuffer, boundaryOf } from "./multipartReader";
import { isNativeTransferSyntax, nativeFrameBytes, transferSyntaxOf } from "./nativeFrames";
import { type RleFrame, isRleTransferSyntax, rleFrameDecode } from "./rleFrames";
import type { InstancePlan, NativePartMessage, ToPage, ToWorker } from "./seriesPixelDataProtocol";

const LOCATION = /\/instances\/([^/]+)\/bulk\/7FE00010$/i;
const NATIVE_BATCH = 8;

const scope = self as unknown as DedicatedWorkerGlobalScope;
let reader: MultipartReader | null = null;
let stopped = false;
let credit = 0;
let creditWaiter: (() => void) | null = null;
let native: NativePartMessage[] = [];
// Buffers from the page by size in bytes; an RLE frame's encoded bytes are read into ``rleInput``.
const spare = new Map<number, ArrayBufferLike[]>();
let rleInput = new ArrayBuffer(0);
let rleInputLent = false;

/**
 * A buffer for a frame the page keeps: one the page sent, else, when the page shares memory with this
 * worker, a new shared one (frameMemory.ts), else none (the caller makes an unshared one as it can).
 */
function keptFrameBuffer(size: number): ArrayBufferLike | undefined {
  return spare.get(size)?.pop() ?? (sharedMemoryAvailable() ? frameBuffer(size, { touched: false }) : undefined);
}

function spareAdd(buffers: ArrayBufferLike[]): void {
  for (const buffer of buffers) {
    const list = spare.get(buffer.byteLength);
    if (list) {
      list.push(buffer);
    } else {
      spare.set(buffer.byteLength, [buffer]);
    }
  }
}

function post(message: ToPage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** The part's buffer, to move with the message, when the part is all of it and it is not shared. */
function ownBuffer(bytes: Uint8Array): Transferable[] {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? movable([bytes.buffer]) : [];
}

async function creditTake(): Promise<void> {
  while (credit <= 0 && !stopped) {
    await new Promise<void>((resolve) => {
      creditWaiter = resolve;
    });
  }
  credit -= 1;
}

function nativeFlush(): void {
  if (native.length > 0 && !stopped) {
    post({ type: "native", parts: native }, native.flatMap((part) => ownBuffer(part.bytes)));
  }
  native = [];
}

function nativePush(part: NativePartMessage): void {
  native.push(part);
  if (native.length >= NATIVE_BATCH) {
    nativeFlush();
  }
}

async function encodedSend(imageId: string, bytes: Uint8Array, transferSyntaxUid: string): Promise<void> {
  nativeFlush();
  await creditTake();
  if (!stopped) {
    post({ type: "encoded", imageId, bytes, transferSyntaxUid }, ownBuffer(bytes));
  }
}

async function seriesRead(url: string, accept: string, instances: InstancePlan[], encodedCredit: number): Promise<void> {
  credit = encodedCredit;
  const plans = new Map(instances.map((plan) => [plan.sopInstanceUID, plan]));
  const partsSeen = new Map<string, number>();
  const response = await fetch(url, { headers: { Accept: accept }, credentials: "same-origin" });
  if (!response.ok || !response.body) {
    post({ type: "unavailable", status: response.status });
    return;
  }
  reader = new MultipartReader(response.body, boundaryOf(response.headers.get("Content-Type")));
  /** The part's instance and its plan, and the transfer syntax it comes in, from its headers. */
  const partDescribe = (headers: Map<string, string>) => {
    const sop = LOCATION.exec(headers.get("content-location") ?? "")?.[1];
    const transferSyntaxUid = transferSyntaxOf(headers.get("content-type") ?? null);
    return { sop, plan: sop ? plans.get(sop) : undefined, transferSyntaxUid };
  };
  const partBuffer: PartBuffer = (headers, length) => {
    const { plan, transferSyntaxUid } = partDescribe(headers);
    const format = plan?.format;
    if (!format) {
      return null;
    }
    if (isRleTransferSyntax(transferSyntaxUid)) {
      if (rleInput.byteLength < length) {
        rleInput = new ArrayBuffer(length + (length >> 2)); // the frames of a series vary a little in size
      }
      rleInputLent = true;
      return rleInput;
    }
    return isNativeTransferSyntax(transferSyntaxUid) && length === nativeFrameBytes(format)
      ? (keptFrameBuffer(length) ?? null)
      : null;
  };
  for (let part = await reader.next(partBuffer); part && !stopped; part = await reader.next(partBuffer)) {
    if (rleInputLent) {
      rleInput = part.body.buffer as ArrayBuffer; // the same memory, under the buffer the read gave back
      rleInputLent = false;
    }
    const { sop, plan, transferSyntaxUid } = partDescribe(part.headers);
    if (!sop || !plan || !transferSyntaxUid) {
      continue; // an instance the stack does not show
    }
    const seen = partsSeen.get(sop) ?? 0;
    partsSeen.set(sop, seen + 1);
    const frames = plan.imageIds;
    const uncompressed = isNativeTransferSyntax(transferSyntaxUid);
    if (uncompressed && plan.format && part.body.byteLength === nativeFrameBytes(plan.format) * frames.length) {
      nativePush({ imageIds: frames, bytes: part.body });
    } else if (uncompressed && frames.length > 1) {
      // Uncompressed frames are the same size, end to end in the instance's Pixel Data.
      const size = part.body.byteLength / frames.length;
      for (let index = 0; index < frames.length && !stopped; index += 1) {
        await encodedSend(frames[index], part.body.slice(index * size, (index + 1) * size), transferSyntaxUid);
      }
    } else if (seen < frames.length) {
      // A compressed instance has a part per frame, in frame order.
      const rle = plan.format !== null && isRleTransferSyntax(transferSyntaxUid);
      let decoded: RleFrame | null = null;
      if (rle && plan.format) {
        const output = keptFrameBuffer(nativeFrameBytes(plan.format));
        decoded = rleFrameDecode(part.body, plan.format, output);
        if (!decoded && output) {
          spareAdd([output]);
        }
      }
      if (decoded) {
        nativePush({ imageIds: [frames[seen]], bytes: decoded.bytes, rescaled: decoded.rescaled ?? undefined });
      } else {
        // Sent away: the bytes read into the reused buffer go in a copy.
        await encodedSend(frames[seen], rle ? part.body.slice() : part.body, transferSyntaxUid);
      }
    }
  }
  nativeFlush();
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "start") {
    seriesRead(message.url, message.accept, message.instances, message.encodedCredit).then(
      () => post({ type: "done" }),
      (error: unknown) => post({ type: "failed", message: error instanceof Error ? error.message : String(error) }),
    );
  } else if (message.type === "buffers") {
    spareAdd(message.buffers);
  } else if (message.type === "credit") {
    credit += message.count;
    creditWaiter?.();
    creditWaiter = null;
  } else if (message.type === "stop") {
    stopped = true;
    reader?.cancel();
    creditWaiter?.();
    creditWaiter = null;
  }
};
