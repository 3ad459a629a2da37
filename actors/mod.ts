/**
 * The actor runtime: mailboxes, the scheduler, supervision, the ack ledger,
 * and the spout and bolt actors.
 *
 * @module
 */
export * from "./mailbox.ts";
export * from "./scheduler.ts";
export * from "./supervisor.ts";
export * from "./xor_ledger.ts";
export * from "./task_host.ts";
export * from "./collectors.ts";
export * from "./task_actor.ts";
export * from "./spout_actor.ts";
export * from "./bolt_actor.ts";
