/**
 * Observation: `ardea tap`'s sampled emits ({@link TapTuple} on `tap.<id>`)
 * and `ardea logs`' request and reply on `logs.<c>`, msgpack.
 *
 * @module
 */
import { z } from "zod";
import { decodeWith, packr } from "./_shared.ts";

/** Most tuples a container publishes a second for one tap. */
export const TAP_MAX_PER_SECOND = 200;

const tapTupleSchema = z.object({
  id: z.string(),
  container: z.number().int().nonnegative(),
  task: z.number().int(),
  component: z.string(),
  stream: z.string(),
  /** Ms since the epoch at the emit. */
  ts: z.number(),
  /** The emitted values; each value msgpack cannot carry is replaced by its `String()`. */
  values: z.array(z.unknown()),
});

/** A sampled emit on `tap.<id>`. */
export type TapTuple = z.infer<typeof tapTupleSchema>;

const logsRequestSchema = z.object({ lines: z.number().int().positive().max(100_000) });
const logsReplySchema = z.object({
  container: z.number().int().nonnegative(),
  pid: z.number().int(),
  host: z.string(),
  /** Oldest first: ms since the epoch and the line. */
  lines: z.array(z.tuple([z.number(), z.string()])),
  /** Lines the ring let go since the container started. */
  dropped: z.number().int().nonnegative(),
});

/** A request for a container's recent log lines. */
export type LogsRequest = z.infer<typeof logsRequestSchema>;
/** A container's recent log lines. */
export type LogsReply = z.infer<typeof logsReplySchema>;

/**
 * Encodes a tap tuple, a logs request or a logs reply (msgpack). A tap
 * tuple whose values msgpack refuses is sent with each value as a string.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { subjects } from "./names.ts";
 * declare const nc: NatsConnection;
 * const id = "a1";
 * nc.publish(subjects("wc").tap(id), encodeObservation({ id, container: 0, task: 3, component: "split", stream: "default", ts: Date.now(), values: ["a"] }));
 * ```
 */
export function encodeObservation(m: TapTuple | LogsRequest | LogsReply): Uint8Array {
  try {
    return packr.pack(m);
  } catch (e) {
    if (!("values" in m)) throw e;
    return packr.pack({ ...m, values: m.values.map((v) => String(v)) });
  }
}

/** Decoders of tap and logs messages; each throws `WireError`. */
export const decodeObservation = {
  tapTuple: (b: Uint8Array): TapTuple => decodeWith(tapTupleSchema, b, "tap tuple"),
  logsRequest: (b: Uint8Array): LogsRequest => decodeWith(logsRequestSchema, b, "logs request"),
  logsReply: (b: Uint8Array): LogsReply => decodeWith(logsReplySchema, b, "logs reply"),
};
