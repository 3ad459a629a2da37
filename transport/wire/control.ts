/**
 * The control plane's messages: what the master and the CLI publish on
 * `ctl` ({@link ControlMessage}) and what containers tell the master on
 * `events` ({@link ContainerEvent}), msgpack.
 *
 * @module
 */
import { z } from "zod";
import { WIRE_VERSION } from "./names.ts";
import { decodeWith, fromFields as from, packr, statsSchema } from "./_shared.ts";
import { terminalStateSchema } from "./states.ts";

const controlSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("start") }),
  z.object({ type: z.literal("activate") }),
  z.object({ type: z.literal("deactivate") }),
  z.object({ type: z.literal("kill"), drainMs: z.number().nonnegative().default(0) }),
  z.object({ type: z.literal("stop"), state: terminalStateSchema }),
  z.object({ type: z.literal("lost"), container: z.number().int().nonnegative() }),
  z.object({ type: z.literal("rejoin"), container: z.number().int().nonnegative() }),
  z.object({ type: z.literal("restart"), container: z.number().int().nonnegative().optional() }),
  z.object({ type: z.literal("update") }),
  z.object({ type: z.literal("checkpoint"), id: z.number().int().positive() }),
  z.object({ type: z.literal("committed"), id: z.number().int().positive() }),
  z.object({
    type: z.literal("rollback"),
    generation: z.number().int().positive(),
    restoreFrom: z.number().int().nonnegative(),
  }),
  z.object({
    type: z.literal("tap"),
    id: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
    component: z.string(),
    stream: z.string(),
    sample: z.number().int().positive(),
    limit: z.number().int().nonnegative(),
    leaseMs: z.number().positive().max(60_000),
  }),
  z.object({ type: z.literal("untap"), id: z.string() }),
  z.object({
    type: z.literal("bp"),
    container: z.number().int().nonnegative(),
    on: z.boolean(),
    leaseMs: z.number().positive(),
    component: z.string(),
  }),
]);

/** A message on the `ctl` subject. */
export type ControlMessage = z.infer<typeof controlSchema>;

const eventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("ready"),
    ...from,
    pid: z.number().int(),
    host: z.string(),
    /**
     * The wire version the container speaks; the master refuses a container
     * of another ({@link wireMismatch}). Containers from before this field
     * spoke version 1.
     */
    wire: z.number().int().default(1),
  }),
  z.object({ type: z.literal("finished"), ...from }),
  z.object({ type: z.literal("failed"), ...from, error: z.string() }),
  z.object({ type: z.literal("saved"), ...from, id: z.number().int().positive(), tasks: z.array(z.string()) }),
  z.object({ type: z.literal("rollback"), ...from, error: z.string() }),
  z.object({
    type: z.literal("heartbeat"),
    ...from,
    pid: z.number().int(),
    host: z.string(),
    ts: z.number(),
    stats: statsSchema,
  }),
]);

/** A message on the `events` subject. */
export type ContainerEvent = z.infer<typeof eventSchema>;
/** Counters a container reports in its heartbeat. */
export type ContainerStats = z.infer<typeof statsSchema>;

/**
 * Encodes a control message or container event.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { subjects } from "./names.ts";
 * declare const nc: NatsConnection;
 * nc.publish(subjects("wc").ctl, encodeMessage({ type: "start" }));
 * ```
 */
export function encodeMessage(m: ControlMessage | ContainerEvent): Uint8Array {
  return packr.pack(m);
}

/**
 * Decodes and checks a control message; throws `WireError`.
 *
 * @example
 * ```ts
 * import type { Msg } from "nats";
 * declare const msg: Msg;
 * const m = decodeControl(msg.data);
 * ```
 */
export function decodeControl(bytes: Uint8Array): ControlMessage {
  return decodeWith(controlSchema, bytes, "control message");
}

/**
 * Decodes and checks a container event; throws `WireError`.
 *
 * @example
 * ```ts
 * import type { Msg } from "nats";
 * declare const msg: Msg;
 * const e = decodeEvent(msg.data);
 * ```
 */
export function decodeEvent(bytes: Uint8Array): ContainerEvent {
  return decodeWith(eventSchema, bytes, "container event");
}

/**
 * Why the master refuses a container whose `ready` names another wire
 * version than this ardea's (its frames would be misread): the error the
 * run ends FAILED with.
 *
 * @example
 * ```ts
 * import { WIRE_VERSION } from "./names.ts";
 * declare const e: { container: number; wire: number }, fail: (reason: string) => void;
 * if (e.wire !== WIRE_VERSION) fail(wireMismatch(e)); // "container 1 speaks wire version 1; this master speaks wire version 2 …"
 * ```
 */
export function wireMismatch(ready: { container: number; wire: number }): string {
  return `container ${ready.container} speaks wire version ${ready.wire}; this master speaks wire version ${WIRE_VERSION} (run one ardea version on every machine of a topology)`;
}
