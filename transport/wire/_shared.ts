/**
 * What the protocol files of the wire contract share and do not publish:
 * the msgpack codec of control-plane messages, the decode-and-check step,
 * and schema parts used by more than one protocol.
 *
 * @module
 */
import { z } from "zod";
import { createPackr } from "../codec.ts";
import { WIRE_VERSION, WireError } from "./names.ts";

/** The encoder of every msgpack message but data frames (those use the strict one, data.ts). */
export const packr = createPackr();

/**
 * The `WireError` of a message or record of another contract version: it
 * names both versions, so the two ends can be told apart at once.
 */
export function otherVersion(what: string, version: unknown): WireError {
  return new WireError(
    `${what} of wire version ${
      String(version)
    }; this ardea speaks wire version ${WIRE_VERSION} (run one ardea version on every machine of a topology)`,
  );
}

/**
 * Checks `v` against `schema`; throws `WireError` naming `what`, the first
 * issue and where it is. A `version` other than {@link WIRE_VERSION} is
 * named as such ({@link otherVersion}) rather than as a schema issue.
 */
export function parseWith<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const version = typeof v === "object" && v !== null ? (v as { version?: unknown }).version : undefined;
  if (version !== undefined && version !== WIRE_VERSION) throw otherVersion(what, version);
  const issue = r.error.issues[0]!;
  throw new WireError(`${what}: ${issue.message} at ${issue.path.join(".") || "(root)"}`);
}

/** Decodes msgpack `bytes` and checks them against `schema` ({@link parseWith}); throws `WireError`. */
export function decodeWith<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch (e) {
    throw new WireError(`${what} is not msgpack: ${(e as Error).message}`);
  }
  return parseWith(schema, v, what);
}

/** A task's or component's kind. */
export const kindSchema = z.enum(["spout", "bolt"]);

/** The tuple counters a heartbeat and a component's metrics share. */
export const tupleCounters = {
  emitted: z.number(),
  executed: z.number(),
  acked: z.number(),
  failed: z.number(),
  timedOut: z.number(),
  pending: z.number(),
  restarts: z.number(),
};

/** Every container event and metrics message names its container and its run (acks.ts `runEpoch`). */
export const fromFields = { container: z.number().int().nonnegative(), epoch: z.number().int() };

/** Errors of one component in a heartbeat. */
const componentErrorsSchema = z.object({
  errors: z.number(),
  restarts: z.number(),
  lastError: z.string().nullable(),
  /** When the last error happened (ms since the epoch), or null. */
  lastErrorAt: z.number().nullable(),
  /**
   * Tasks whose awaited call has not settled for `topology.task.stuck.warn.secs`
   * (absent when none, and from containers older than this field).
   */
  stuckTasks: z.number().int().nonnegative().optional(),
});

/** Counters a container reports in its heartbeat (and its record keeps). */
export const statsSchema = z.object({
  /** Per component, when the container hosts tasks of it. */
  components: z.record(z.string(), componentErrorsSchema).optional(),
  ...tupleCounters,
  dropped: z.number(),
  backpressure: z.boolean(),
}).passthrough();
