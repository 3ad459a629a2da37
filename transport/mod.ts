/**
 * Transport: how tuples and control messages leave a process. Today: the
 * codec; the NATS transport joins it with distributed mode.
 *
 * @module
 */
export * from "./codec.ts";
export * from "./wire.ts";
export * from "./jetstream_spout.ts";
export * from "./nats_sink.ts";
