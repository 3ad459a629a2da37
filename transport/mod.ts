/**
 * Transport: how tuples and control messages leave a process: the wire
 * contract (subjects, frames, control messages, records), the value codec
 * and the NATS connectors.
 *
 * @module
 */
export * from "./codec.ts";
export * from "./wire/mod.ts";
export * from "./jetstream_spout.ts";
export * from "./start_sequences.ts";
export * from "./nats_sink.ts";
