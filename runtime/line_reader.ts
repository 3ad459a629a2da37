/**
 * Reads a text file line by line in batches, remembering the byte offset
 * after the last line handed out so that a reader can later reopen the file
 * exactly there (spouts rewinding to a checkpoint).
 *
 * @module
 */
import { type FileHandle, open } from "node:fs/promises";

/** Options of {@link LineReader.open}. */
export interface LineReaderOptions {
  /** Bytes read from the file per read call; default 64 KiB. */
  chunkSize?: number;
}

const NEWLINE = 0x0a;
const CR = "\r";
const DEFAULT_CHUNK_SIZE = 64 * 1024;

/**
 * A batched UTF-8 line reader over one file.
 *
 * Lines are split on "\n"; a trailing "\r" is removed; a last line without
 * a newline is returned too. Decoding happens per complete line, so a
 * multi-byte character split between two reads is decoded correctly. A
 * UTF-8 byte order mark at the very start of the file is skipped.
 *
 * @example
 * ```ts
 * import { LineReader } from "./mod.ts";
 * const reader = await LineReader.open("data/sentences.txt");
 * try {
 *   for (let batch = await reader.read(1000); batch !== null; batch = await reader.read(1000)) {
 *     for (const line of batch) console.log(line);
 *     // reader.offset: where to reopen to continue after this batch
 *   }
 * } finally {
 *   await reader.close();
 * }
 * ```
 */
export class LineReader {
  readonly #handle: FileHandle;
  readonly #chunkSize: number;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #filePos: number;
  #offset: number;
  #closed = false;

  private constructor(handle: FileHandle, startOffset: number, chunkSize: number) {
    this.#handle = handle;
    this.#chunkSize = chunkSize;
    this.#buf = new Uint8Array(chunkSize * 2);
    this.#filePos = startOffset;
    this.#offset = startOffset;
  }

  /**
   * Opens `path` for reading, starting at byte `startOffset` (an
   * {@link LineReader.offset} obtained earlier, or 0).
   *
   * @example
   * ```ts
   * import { LineReader } from "./mod.ts";
   * const reader = await LineReader.open("data/sentences.txt", 0, { chunkSize: 16 * 1024 });
   * await reader.close();
   * ```
   */
  static async open(
    path: string,
    startOffset = 0,
    options: LineReaderOptions = {},
  ): Promise<LineReader> {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`LineReader: chunkSize must be a positive integer, got ${chunkSize}`);
    }
    if (!Number.isInteger(startOffset) || startOffset < 0) {
      throw new RangeError(`LineReader: startOffset must be a non-negative integer, got ${startOffset}`);
    }
    const handle = await open(path, "r");
    const reader = new LineReader(handle, startOffset, chunkSize);
    if (startOffset === 0) await reader.#skipByteOrderMark();
    return reader;
  }

  /**
   * Byte offset just after the last line returned by {@link LineReader.read}
   * (its newline included); reopening there continues with the next line.
   *
   * @example
   * ```ts
   * import { LineReader } from "./mod.ts";
   * const reader = await LineReader.open("data/sentences.txt");
   * await reader.read(10);
   * const resumeAt = reader.offset;
   * await reader.close();
   * const again = await LineReader.open("data/sentences.txt", resumeAt);
   * await again.close();
   * ```
   */
  get offset(): number {
    return this.#offset;
  }

  /**
   * The next batch of complete lines, at most `maxLines` of them (default:
   * every complete line already buffered, reading at least one chunk), or
   * `null` at end of file. Never returns an empty array.
   *
   * @example
   * ```ts
   * import { LineReader } from "./mod.ts";
   * const reader = await LineReader.open("data/sentences.txt");
   * const firstHundred = await reader.read(100);
   * await reader.close();
   * ```
   */
  async read(maxLines = Number.POSITIVE_INFINITY): Promise<string[] | null> {
    if (this.#closed) throw new Error("LineReader: read() after close()");
    if (!(maxLines >= 1)) throw new RangeError(`LineReader: maxLines must be >= 1, got ${maxLines}`);
    for (;;) {
      const lines = this.#takeLines(maxLines);
      if (lines !== null) return lines;
      const bytesRead = await this.#fill();
      if (bytesRead === 0) return this.#takeRest();
    }
  }

  /**
   * Closes the file. Safe to call twice.
   *
   * @example
   * ```ts
   * import { LineReader } from "./mod.ts";
   * const reader = await LineReader.open("data/sentences.txt");
   * await reader.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  /** Complete lines from the buffer, or null when it holds no newline. */
  #takeLines(maxLines: number): string[] | null {
    const buf = this.#buf;
    let last: number;
    if (maxLines === Number.POSITIVE_INFINITY) {
      last = buf.subarray(this.#start, this.#end).lastIndexOf(NEWLINE);
      if (last < 0) return null;
      last += this.#start;
    } else {
      last = -1;
      let from = this.#start;
      for (let n = 0; n < maxLines; n++) {
        const at = buf.indexOf(NEWLINE, from);
        if (at < 0 || at >= this.#end) break;
        last = at;
        from = at + 1;
      }
      if (last < 0) return null;
    }
    const text = this.#decoder.decode(buf.subarray(this.#start, last));
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.endsWith(CR)) lines[i] = line.slice(0, -1);
    }
    this.#offset += last + 1 - this.#start;
    this.#start = last + 1;
    return lines;
  }

  /** At end of file: the final line without newline, or null. */
  #takeRest(): string[] | null {
    if (this.#start === this.#end) return null;
    let line = this.#decoder.decode(this.#buf.subarray(this.#start, this.#end));
    if (line.endsWith(CR)) line = line.slice(0, -1);
    this.#offset += this.#end - this.#start;
    this.#start = this.#end = 0;
    return [line];
  }

  /** Reads one chunk after the buffered bytes; returns the bytes read. */
  async #fill(): Promise<number> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end + this.#chunkSize > this.#buf.length) {
      const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#end + this.#chunkSize));
      bigger.set(this.#buf.subarray(0, this.#end));
      this.#buf = bigger;
    }
    const { bytesRead } = await this.#handle.read(this.#buf, this.#end, this.#chunkSize, this.#filePos);
    this.#end += bytesRead;
    this.#filePos += bytesRead;
    return bytesRead;
  }

  async #skipByteOrderMark(): Promise<void> {
    while (this.#end < 3) {
      if ((await this.#fill()) === 0) break;
    }
    const b = this.#buf;
    if (this.#end >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
      this.#start = 3;
      this.#offset = 3;
    }
  }
}
