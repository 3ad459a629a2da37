/**
 * `OutputFieldsDeclarer`: how a component declares the streams it emits.
 *
 * @module
 */
import { Fields, type FieldsLike, toFields } from "./fields.ts";
import { DEFAULT_STREAM } from "./tuple.ts";

/** One declared output stream. */
export interface StreamDecl {
  readonly id: string;
  readonly fields: Fields;
  readonly direct: boolean;
}

/**
 * Storm's `OutputFieldsDeclarer`.
 *
 * @example
 * ```ts
 * import { Fields } from "ardea";
 * class Split {
 *   declareOutputFields(d: OutputFieldsDeclarer) {
 *     d.declare(new Fields("word"));
 *     d.declareStream("errors", new Fields("line", "reason"));
 *     d.declare(true, new Fields("x")); // direct default stream
 *   }
 * }
 * ```
 */
export interface OutputFieldsDeclarer {
  declare(fields: FieldsLike): void;
  declare(direct: boolean, fields: FieldsLike): void;
  declareStream(streamId: string, fields: FieldsLike): void;
  declareStream(streamId: string, direct: boolean, fields: FieldsLike): void;
}

/**
 * Collects declarations into a stream map; throws on a stream declared twice.
 *
 * @example
 * ```ts
 * const d = new StreamCollector("split");
 * d.declare(["word"]);
 * d.streams.get("default")!.fields.size(); // 1
 * ```
 */
export class StreamCollector implements OutputFieldsDeclarer {
  readonly streams = new Map<string, StreamDecl>();
  constructor(readonly componentId: string) {}

  declare(a: boolean | FieldsLike, b?: FieldsLike): void {
    if (typeof a === "boolean") this.#add(DEFAULT_STREAM, a, b);
    else this.#add(DEFAULT_STREAM, false, a);
  }

  declareStream(streamId: string, a: boolean | FieldsLike, b?: FieldsLike): void {
    if (typeof a === "boolean") this.#add(streamId, a, b);
    else this.#add(streamId, false, a);
  }

  #add(id: string, direct: boolean, fields: FieldsLike | undefined): void {
    if (typeof id !== "string" || id.length === 0) {
      throw new TypeError(`component "${this.componentId}" declares a stream with an empty id`);
    }
    if (id.startsWith("__")) {
      throw new TypeError(
        `component "${this.componentId}" declares stream "${id}": ids starting with "__" are reserved`,
      );
    }
    if (fields === undefined) {
      throw new TypeError(`component "${this.componentId}" declares stream "${id}" without fields`);
    }
    if (this.streams.has(id)) {
      throw new TypeError(`component "${this.componentId}" declares stream "${id}" twice`);
    }
    this.streams.set(id, { id, fields: toFields(fields), direct });
  }
}

export { Fields };
