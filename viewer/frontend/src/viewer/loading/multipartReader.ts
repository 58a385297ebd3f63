/**
 * Reads a multipart/related body (RFC 2387) part by part as it streams in, for parts that declare their
 * Content-Length, as the archive's Pixel Data responses do: a part is then taken by its length rather
 * than by scanning half a megabyte of pixels for the boundary. Where the browser offers a BYOB reader,
 * a part's bytes are read straight into the part's own buffer, without passing through another copy.
 *
 * The caller may say which buffer a part is read into (``next``'s ``into``): memory new to the process
 * costs a page fault per 4 KiB when first written, which for a gigabyte of parts took longer than the
 * reading itself (in Node 20, 2,000 half-megabyte copies: 0.53 s into new buffers, 0.03 s into one
 * reused buffer). A part read and dropped can reuse one buffer; a kept one can go into memory another
 * thread has already touched. A BYOB read cannot fill shared memory: a part for a SharedArrayBuffer is
 * read through a buffer of the reader's, a megabyte at a time, and copied.
 */

export interface MultipartPart {
  /** Header names in lower case. */
  headers: Map<string, string>;
  /**
   * The part's bytes from the start of a buffer of their own (safe to transfer to a worker): a new one
   * exactly as long, or the memory of the one the caller gave (under a new ArrayBuffer, when read by BYOB).
   */
  body: Uint8Array;
}

/** A buffer of at least ``length`` bytes for the part with these headers, taken over; null for a new one. */
export type PartBuffer = (headers: Map<string, string>, length: number) => ArrayBufferLike | null;

/** The body is not what this reader takes: no boundary, a part without Content-Length, cut short. */
export class MultipartFormatError extends Error {}

const CR = 13;
const LF = 10;
const MAX_LINE = 8192;
// Headers and boundaries are read this much at a time; what follows them is kept for the part.
const HEADER_READ = 4096;
// Parts for shared memory are read this much at a time into the reader's own buffer.
const SCRATCH_READ = 1 << 20;

export function boundaryOf(contentType: string | null): string {
  const match = /boundary="?([^";]+)"?/i.exec(contentType ?? "");
  if (!match || !/^multipart\/related/i.test(contentType ?? "")) {
    throw new MultipartFormatError(`Not a multipart/related response: ${contentType ?? "no Content-Type"}`);
  }
  return match[1];
}

export class MultipartReader {
  private readonly chunks: Uint8Array[] = [];
  private offset = 0; // into chunks[0]
  private buffered = 0;
  private finished = false;
  private readonly delimiter: string;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader;
  private readonly byob: boolean;
  private scratch = new ArrayBuffer(SCRATCH_READ);

  constructor(stream: ReadableStream<Uint8Array>, boundary: string) {
    this.delimiter = `--${boundary}`;
    let byobReader: ReadableStreamBYOBReader | null = null;
    try {
      byobReader = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream in this browser: chunks as they come, copied into each part.
    }
    this.byob = byobReader !== null;
    this.reader = byobReader ?? stream.getReader();
  }

  /** The next part, or null after the closing delimiter; read into the buffer ``into`` gives, if any. */
  async next(into?: PartBuffer): Promise<MultipartPart | null> {
    let line = await this.line();
    while (line === "") {
      line = await this.line(); // the CRLF that ends the previous part's body
    }
    if (line === `${this.delimiter}--`) {
      return null;
    }
    if (line !== this.delimiter) {
      throw new MultipartFormatError(`Expected the boundary, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const headers = new Map<string, string>();
    for (let header = await this.line(); header !== ""; header = await this.line()) {
      const colon = header.indexOf(":");
      if (colon > 0) {
        headers.set(header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim());
      }
    }
    const length = Number(headers.get("content-length"));
    if (!Number.isInteger(length) || length < 0) {
      throw new MultipartFormatError("A part has no Content-Length");
    }
    const given = into?.(headers, length) ?? null;
    const buffer = given && given.byteLength >= length ? given : new ArrayBuffer(length);
    return { headers, body: await this.bytes(buffer, length) };
  }

  cancel(): void {
    void this.reader.cancel().catch(() => undefined);
  }

  private async fill(): Promise<boolean> {
    if (this.finished) {
      return false;
    }
    const { done, value } = this.byob
      ? await (this.reader as ReadableStreamBYOBReader).read(new Uint8Array(HEADER_READ))
      : await (this.reader as ReadableStreamDefaultReader<Uint8Array>).read();
    if (done || !value) {
      this.finished = true;
      return false;
    }
    if (value.length > 0) {
      this.chunks.push(value);
      this.buffered += value.length;
    }
    return true;
  }

  private async line(): Promise<string> {
    const bytes: number[] = [];
    for (;;) {
      while (this.buffered === 0) {
        if (!(await this.fill())) {
          throw new MultipartFormatError("The response ended inside a part's headers");
        }
      }
      const chunk = this.chunks[0];
      const byte = chunk[this.offset];
      this.consume(1);
      if (byte === LF && bytes.length > 0 && bytes[bytes.length - 1] === CR) {
        bytes.pop();
        return String.fromCharCode(...bytes);
      }
      bytes.push(byte);
      if (bytes.length > MAX_LINE) {
        throw new MultipartFormatError("A header line is too long");
      }
    }
  }

  private async bytes(buffer: ArrayBufferLike, length: number): Promise<Uint8Array> {
    let body = new Uint8Array(buffer, 0, length);
    let written = 0;
    while (written < length) {
      if (this.buffered === 0 && this.byob && !(buffer instanceof ArrayBuffer)) {
        const reader = this.reader as ReadableStreamBYOBReader;
        const { done, value } = await reader.read(new Uint8Array(this.scratch, 0, Math.min(SCRATCH_READ, length - written)));
        if (done || !value) {
          throw new MultipartFormatError("The response ended inside a part");
        }
        body.set(value, written);
        written += value.byteLength;
        this.scratch = value.buffer as ArrayBuffer;
        continue;
      }
      if (this.buffered === 0 && this.byob) {
        // The read takes the buffer over and gives it back, filled from ``written`` on.
        const reader = this.reader as ReadableStreamBYOBReader;
        const { done, value } = await reader.read(new Uint8Array(body.buffer, written, length - written));
        if (done || !value) {
          throw new MultipartFormatError("The response ended inside a part");
        }
        body = new Uint8Array(value.buffer, 0, length);
        written += value.byteLength;
        continue;
      }
      while (this.buffered === 0) {
        if (!(await this.fill())) {
          throw new MultipartFormatError("The response ended inside a part");
        }
      }
      const chunk = this.chunks[0];
      const take = Math.min(length - written, chunk.length - this.offset);
      body.set(chunk.subarray(this.offset, this.offset + take), written);
      written += take;
      this.consume(take);
    }
    return body;
  }

  private consume(count: number): void {
    this.offset += count;
    this.buffered -= count;
    if (this.offset >= this.chunks[0].length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
