/**
 * The two wire formats of the multilang protocol. JSON (Storm's): each
 * message is JSON text followed by a line `end`; a message may span lines.
 * msgpack (Ardea's option): consecutive msgpack maps (arrays for task ids),
 * no delimiter. Both carry the same messages.
 *
 * @module
 */
import { Packr, Unpackr } from "msgpackr";
import type { MultilangSerializer } from "./options.ts";

/** A message that cannot be read: its bytes or text are not one of the format's messages. */
export class GarbageError extends Error {
  constructor(readonly reason: string, readonly excerpt: string) {
    super(`${reason}: ${JSON.stringify(excerpt)}`);
    this.name = "GarbageError";
  }
}

/** A decoder fed with output chunks; calls back with each complete message. */
export interface MessageDecoder {
  /** Feeds `chunk`; throws {@link GarbageError} on output that is not a message. */
  push(chunk: Uint8Array): void;
}

/** One wire format. */
export interface Serializer {
  readonly name: MultilangSerializer;
  /** Appends the encoding of `msg` to what goes out next. */
  encode(msg: unknown): string | Uint8Array;
  /** Joins encoded messages into one write. */
  join(parts: Array<string | Uint8Array>): string | Uint8Array;
  decoder(onMessage: (msg: unknown) => void): MessageDecoder;
}

/** Longest message (bytes or characters) a subprocess may send. */
export const MAX_MESSAGE = 64 * 1024 * 1024;

const EXCERPT = 200;

/** JSON for the wire: `undefined` as null (in arrays) and bigints as numbers, as Storm's serializer writes them. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? Number(value) : value;
}

class JsonDecoder implements MessageDecoder {
  readonly #decoder = new TextDecoder();
  readonly #onMessage: (msg: unknown) => void;
  #buf = "";
  /** Where the scan for the next line resumes (lines before it are not `end`). */
  #scan = 0;

  constructor(onMessage: (msg: unknown) => void) {
    this.#onMessage = onMessage;
  }

  push(chunk: Uint8Array): void {
    let buf = this.#buf + this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    let pos = this.#scan;
    for (;;) {
      const nl = buf.indexOf("\n", pos);
      if (nl < 0) break;
      const len = nl - pos;
      if (
        (len === 3 || (len === 4 && buf.charCodeAt(pos + 3) === 13)) && buf.startsWith("end", pos)
      ) {
        const text = buf.slice(start, pos);
        start = nl + 1;
        let msg: unknown;
        try {
          msg = JSON.parse(text);
        } catch (e) {
          throw new GarbageError(`not a JSON message (${(e as Error).message})`, text.slice(0, EXCERPT));
        }
        this.#onMessage(msg);
      }
      pos = nl + 1;
    }
    if (start > 0) {
      buf = buf.slice(start);
      pos -= start;
    }
    if (buf.length > MAX_MESSAGE) {
      throw new GarbageError(`no line "end" in ${MAX_MESSAGE} characters`, buf.slice(0, EXCERPT));
    }
    this.#buf = buf;
    this.#scan = pos;
  }
}

const jsonSerializer: Serializer = {
  name: "json",
  encode: (msg) => JSON.stringify(msg, replacer) + "\nend\n",
  join: (parts) => parts.join(""),
  decoder: (onMessage) => new JsonDecoder(onMessage),
};

// Plain maps and arrays, no msgpackr record extension: other languages' msgpack libraries read them.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

class MsgpackDecoder implements MessageDecoder {
  readonly #unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  readonly #onMessage: (msg: unknown) => void;
  /** The start of a message whose end has not arrived yet. */
  #rest: Uint8Array | null = null;

  constructor(onMessage: (msg: unknown) => void) {
    this.#onMessage = onMessage;
  }

  push(chunk: Uint8Array): void {
    let data = chunk;
    const rest = this.#rest;
    if (rest !== null) {
      data = new Uint8Array(rest.length + chunk.length);
      data.set(rest);
      data.set(chunk, rest.length);
      this.#rest = null;
    }
    const got: unknown[] = [];
    try {
      this.#unpackr.unpackMultiple(data, (msg: unknown) => {
        got.push(msg);
      });
    } catch (e) {
      const err = e as { incomplete?: boolean; lastPosition?: number };
      if (err.incomplete !== true) {
        throw new GarbageError(`not msgpack (${(e as Error).message})`, latin1(data.subarray(0, EXCERPT)));
      }
      const kept = data.subarray(err.lastPosition ?? 0);
      if (kept.length > MAX_MESSAGE) {
        throw new GarbageError(`a msgpack message longer than ${MAX_MESSAGE} bytes`, latin1(kept.subarray(0, EXCERPT)));
      }
      this.#rest = kept.slice();
    }
    for (const msg of got) {
      if (msg === null || typeof msg !== "object") {
        throw new GarbageError("not a msgpack map or array", String(msg).slice(0, EXCERPT));
      }
      this.#onMessage(msg);
    }
  }
}

function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

const msgpackSerializer: Serializer = {
  name: "msgpack",
  encode: (msg) => packr.pack(msg),
  join: (parts) => {
    if (parts.length === 1) return parts[0]!;
    let n = 0;
    for (const p of parts) n += (p as Uint8Array).length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p as Uint8Array, at);
      at += (p as Uint8Array).length;
    }
    return out;
  },
  decoder: (onMessage) => new MsgpackDecoder(onMessage),
};

/**
 * The serializer named `name`.
 *
 * @example
 * ```ts
 * const s = serializerFor("json");
 * s.encode({ command: "next" }); // '{"command":"next"}\nend\n'
 * ```
 */
export function serializerFor(name: MultilangSerializer): Serializer {
  return name === "msgpack" ? msgpackSerializer : jsonSerializer;
}
