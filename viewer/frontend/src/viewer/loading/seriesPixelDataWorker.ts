/**
 * Reads a series' Pixel Data response off the page's thread: the multipart parts as they stream in,
 * moved (not copied) to the page, which decodes uncompressed grey frames itself (nativeFrames.ts) and
 * hands every other part to the DICOM image loader's decode workers. Reading a gigabyte keeps a thread
 * busy on its own; decoding beside it, on the page's thread, overlaps the two.
 *
 * RLE Lossless frames of the grey images the page decodes (the archive's half-size copy of large
 * series) are decoded here instead, into uncompressed bytes (rleFrames.ts): the page then makes them as
 * its own, and the loader's workers, with their copies to and fro, are left out.
 *
 * The protocol is in seriesPixelDataProtocol.ts. Encoded parts are sent against credit, so a page that
 * decodes slower than the network brings them does not pile up the whole series in memory.
 */

import { MultipartReader, boundaryOf } from "./multipartReader";
import { isNativeTransferSyntax, nativeFrameBytes, transferSyntaxOf } from "./nativeFrames";
import { isRleTransferSyntax, rleFrameDecode } from "./rleFrames";
import type { InstancePlan, NativePartMessage, ToPage, ToWorker } from "./seriesPixelDataProtocol";

const LOCATION = /\/instances\/([^/]+)\/bulk\/7FE00010$/i;
const NATIVE_BATCH = 8;

const scope = self as unknown as DedicatedWorkerGlobalScope;
let reader: MultipartReader | null = null;
let stopped = false;
let credit = 0;
let creditWaiter: (() => void) | null = null;
let native: NativePartMessage[] = [];

function post(message: ToPage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function ownBuffer(bytes: Uint8Array): Transferable[] {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer] : [];
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
  for (let part = await reader.next(); part && !stopped; part = await reader.next()) {
    const sop = LOCATION.exec(part.headers.get("content-location") ?? "")?.[1];
    const plan = sop ? plans.get(sop) : undefined;
    const transferSyntaxUid = transferSyntaxOf(part.headers.get("content-type") ?? null);
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
      const decoded =
        plan.format && isRleTransferSyntax(transferSyntaxUid) ? rleFrameDecode(part.body, plan.format) : null;
      if (decoded) {
        nativePush({ imageIds: [frames[seen]], bytes: decoded });
      } else {
        await encodedSend(frames[seen], part.body, transferSyntaxUid);
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
