/**
 * The wire contract: every message that crosses a process boundary, its
 * subject, its shape, and the sequence of each protocol. Both sides import
 * this module; nothing else invents a message shape. Anything read from the
 * network is parsed here and a malformed message is a `WireError` (the
 * receiver drops it, counts it and logs it; it never crashes a container).
 *
 * One file per protocol; this module is their public face:
 *
 * | file | protocol |
 * | --- | --- |
 * | `names.ts` | version, {@link WireError}, buckets, subjects, KV keys, the topology-name rule |
 * | `states.ts` | a topology's run states ({@link TopologyState}), which of them end a run ({@link isTerminal}) |
 * | `data.ts` | data frames and their chunks, the stream table |
 * | `acks.ts` | ack frames (XOR deltas, fails, touches, credits), the run epoch |
 * | `control.ts` | control messages on `ctl`, container events on `events` |
 * | `observation.ts` | tap tuples, logs requests and replies |
 * | `metrics.ts` | container metrics for trackers |
 * | `records.ts` | topology, container and lease records in KV |
 * | `pool.ts` | worker records and the run / kill / exit messages of the pool |
 *
 * Subjects (all under `ardea.<topology>.`):
 *
 * | subject | direction | payload |
 * | --- | --- | --- |
 * | `data.<c>` | any container → container c | {@link DataFrame}: tuples by column and markers in their place among them, msgpack; or the {@link DataChunk}s of one frame above `max_payload` |
 * | `acks.<c>` | any container → container c (holder of the roots) | ack frame ({@link AckFrameWriter}): raw little-endian int32 quads |
 * | `ctl` | master/CLI → every container | {@link ControlMessage}, msgpack |
 * | `events` | container → master | {@link ContainerEvent}, msgpack |
 * | `tap.<id>` | container → `ardea tap` | {@link TapTuple}, msgpack |
 * | `logs.<c>` | `ardea logs` ⇄ container c (request/reply) | {@link LogsRequest} → {@link LogsReply}, msgpack |
 * | `metrics` | container → trackers (`ardea ui --nats`) | {@link ContainerMetrics}, msgpack |
 *
 * Control-plane records live in the JetStream KV bucket {@link KV_BUCKET}
 * (key `<topology>` → {@link TopologyRecord}, `<topology>.c<i>` →
 * {@link ContainerRecord}, `<topology>.master` → {@link LeaseRecord});
 * `<topology>` there and in subjects is the name through
 * {@link topologyKey} / {@link subjectToken}: as it is when it has only
 * letters, digits, `_` and `-`, else with each other byte as `=XX`;
 * topology bundles live in the object store
 * {@link CODE_BUCKET} under their sha256.
 *
 * Sequences:
 *
 * - **Start.** `ardea submit` stores the bundle and a `SUBMITTED` record, the
 *   scheduler starts containers 0…N-1; each loads the bundle, builds its
 *   tasks, subscribes to its `data` and `acks` subjects, writes its
 *   container record and sends `ready` (naming its wire version: the
 *   master ends the run FAILED, naming both versions, if it is not its
 *   own). When all N are ready the master
 *   publishes `start` on `ctl`, marks the record `RUNNING`, and containers
 *   open spouts. (No tuple is published before every subscriber exists: core
 *   NATS does not buffer for absent subscribers.)
 * - **Data.** A container batches cross-container tuples per destination
 *   container and flushes a `DataFrame` at its byte budget or at the end of
 *   the scheduler slice. A finished task's end-of-input marker travels in the
 *   same frames, after its last tuple (a marker keeps its place among the
 *   tuples of a frame, and per-publisher order is kept by NATS), and so
 *   does a drained task's drain marker. A frame of another wire version is
 *   dropped with an error naming both versions. A frame of one tuple above
 *   the server's `max_payload` goes as {@link DataChunk}s in a row, up to
 *   {@link MAX_FRAME_BYTES}; past that the sender fails the run. A value the
 *   frame encoder would change (a function, an unregistered class) fails
 *   the run too, naming component, stream and field. Frames from one container to
 *   another are numbered; a gap means NATS lost some (a server restarted, a
 *   client reconnected): in EFFECTIVELY_ONCE the receiver asks for a
 *   rollback, and so does any container or master whose NATS connection
 *   was re-established (what it sent or was sent meanwhile may be lost).
 * - **Acks.** An ack, fail or timeout reset for a root held by container c is
 *   appended to the ack frame for c ({@link AckFrameWriter}) (root's local slot id, 60-bit delta);
 *   c's ledger applies it exactly as in embedded mode.
 * - **Backpressure.** A container whose mailboxes pass the high-water mark
 *   sends `{type:"bp", on:true, leaseMs}` on `ctl`, renewing it every
 *   leaseMs/3 while it lasts; `on:false` when it drains. Every container
 *   throttles its spouts while any unexpired lease is on, so a container that
 *   dies while throttling stalls the topology for at most one lease.
 *   Beneath the leases, credits bound what is in flight between two
 *   containers: data frames are numbered per destination, the receiver
 *   sends `CREDIT` quads in its ack frames for the frames it has taken in
 *   (none while its own mailboxes are over the mark), and a sender with more
 *   than a window of uncredited bytes to one container holds its spouts back
 *   until half of it is credited. A lease that arrives late can no longer
 *   let a fast spout flood a slow container.
 * - **End.** A container whose tasks have all finished sends `finished`;
 *   when all have, the master marks the record `FINISHED` and publishes
 *   `stop`. A container that cannot go on sends `failed` with the error; the
 *   master marks `FAILED` and publishes `stop`.
 * - **Heartbeat.** Every container sends `heartbeat` on `events` each second
 *   with its counters; the master notes silence.
 * - **Recovery.** When a container dies (or falls silent and is killed) the
 *   master publishes `lost` and starts it again; every container holds its
 *   spouts (as under backpressure) while a container is lost. When the new
 *   process is ready the master publishes `rejoin` and then `start`: the
 *   others re-send the end-of-input markers of their finished tasks to it,
 *   fail every pending tuple tree so that spouts replay at once (a tree may
 *   have had a tuple in the dead process), and release their spouts.
 * - **Checkpoints (EFFECTIVELY_ONCE).** The master publishes \`checkpoint\`
 *   {id} every interval (one at a time); each container's spouts save their
 *   state to the NATS state backend and send markers, which cross containers
 *   in data frames ({@link MarkerKind} `CHECKPOINT`) behind the tuples
 *   before them; bolts align and save. A container whose tasks have all
 *   saved (or finished) sends \`saved\` {id, tasks}; when every container has,
 *   the master commits the checkpoint in the backend and publishes
 *   \`committed\` (two-phase sinks commit then). A container that fails sends
 *   \`rollback\` and waits. The master then picks the checkpoint (the last
 *   committed, once no commit is in flight), writes the next generation
 *   with it in the record (`generation`, `restoreFrom`) and publishes
 *   \`rollback\` {generation, restoreFrom} on `ctl` (again every 2 s until
 *   every container is ready): each live container resets in place (its
 *   tasks end, a new stream manager on the new epoch, its tasks restored
 *   from that checkpoint, spouts rewound) and says `ready`; a container
 *   whose process died is started again and reads the same from the record;
 *   once all are ready the master publishes \`start\`. A container that asked
 *   for a rollback and hears none within 20 s exits (and the master restarts
 *   it as after a death). Only a process that died pays a start-up.
 * - **Restart and update.** \`restart\` (one container or all) makes the master
 *   stop and start containers as after a death, without using the restart
 *   budget. \`update\` follows the plan `ardea update` wrote in the record's
 *   `nextPlan` (parallelism per component, tasks, packing): the master
 *   deactivates the spouts, lets pending trees drain (up to 10 s; in
 *   EFFECTIVELY_ONCE it then takes a checkpoint), stops every container, makes
 *   `nextPlan` the running plan in the write of the next generation, and
 *   starts them again on it.
 * - **Master lease.** The master holds {@link LeaseRecord} (renewed every
 *   third of its 6 s) and measures container silence only while it is itself
 *   connected. A lease that stays expired is a lost master: a pool worker
 *   running containers of the topology takes the lease and follows them
 *   (starting the missing ones as after a death); otherwise a container whose
 *   local master process is gone, a container that saw the lease expired for
 *   30 s, or `ardea status` takes the lease under holder `lost:<who>`, records
 *   FAILED "master lost", gives the lease up and publishes `stop`. A master
 *   that finds its lease held by another steps down (a `lost:` holder: it
 *   ends the run).
 * - **Steering.** `activate`, `deactivate`, `kill` (with `drainMs`) are
 *   published on `ctl` by the CLI.
 * - **Tap.** `ardea tap` picks a random id, subscribes to `tap.<id>`, and
 *   publishes `{type:"tap", id, component, stream, sample, limit, leaseMs}`
 *   on `ctl`, renewing it every leaseMs/3. While the lease holds, each
 *   container publishes one in `sample` of the emits of (component, stream)
 *   by its tasks as a {@link TapTuple} on `tap.<id>`, at most `limit` (0: no
 *   limit) and at most {@link TAP_MAX_PER_SECOND} a second; the emit is only
 *   read (acking is unchanged). The CLI sends `{type:"untap", id}` when it
 *   stops; a CLI that dies stops the tap when its lease expires.
 * - **Metrics.** Every container publishes a {@link ContainerMetrics} on
 *   `metrics` each second (and a last one when it stops): its counters per
 *   task and component, latency summaries with the recent window's
 *   histograms behind them (`latencyBuckets`, and `buckets` of the user
 *   histograms, so a tracker merges percentiles over containers exactly),
 *   user metrics, backpressure, mailbox depths and its stream manager's
 *   frame counters. Nobody needs to listen; a tracker
 *   subscribes to {@link METRICS_WILDCARD} and to the `bp` messages on `ctl`
 *   (backpressure episodes). Per-task and per-component objects pass unknown
 *   fields through, so counters added later reach the tracker unchanged.
 * - **Logs.** Each container keeps its last log lines (crash stacks
 *   included) in a ring and answers a {@link LogsRequest} on `logs.<c>` with
 *   a {@link LogsReply} (the newest `lines`).
 *
 * @module
 */
export {
  checkTopologyName,
  CODE_BUCKET,
  containerKey,
  CONTROL_WILDCARD,
  KV_BUCKET,
  leaseKey,
  METRICS_WILDCARD,
  subjects,
  subjectToken,
  topologyKey,
  WIRE_VERSION,
  WireError,
} from "./names.ts";
export {
  CHUNK_OVERHEAD,
  type Column,
  type DataChunk,
  type DataFrame,
  DataFrameWriter,
  decodeDataFrame,
  decodeDataMessage,
  encodeDataChunks,
  encodeDataFrame,
  type FrameId,
  type FrameMarker,
  MarkerKind,
  MAX_FRAME_BYTES,
  streamTable,
  unencodableField,
} from "./data.ts";
export { AckFrameWriter, AckOp, decodeAckFrame, runEpoch } from "./acks.ts";
export {
  type ContainerEvent,
  type ContainerStats,
  type ControlMessage,
  decodeControl,
  decodeEvent,
  encodeMessage,
  wireMismatch,
} from "./control.ts";
export {
  decodeObservation,
  encodeObservation,
  type LogsReply,
  type LogsRequest,
  TAP_MAX_PER_SECOND,
  type TapTuple,
} from "./observation.ts";
export { type ContainerMetrics, decodeMetrics, encodeMetrics } from "./metrics.ts";
export {
  type ContainerRecord,
  type LeaseRecord,
  parseContainerRecord,
  parseLeaseRecord,
  parseTopologyRecord,
  type TopologyRecord,
} from "./records.ts";
export {
  isRunning,
  isTerminal,
  type RunState,
  RunStates,
  runStateSchema,
  TERMINAL_STATES,
  type TerminalState,
  terminalStateSchema,
  type TopologyState,
  TopologyStates,
  topologyStateSchema,
} from "./states.ts";
export {
  decodePool,
  encodePool,
  type ExitEvent,
  type KillRequest,
  parseWorkerRecord,
  type RunReply,
  type RunRequest,
  workerKey,
  type WorkerRecord,
  workerSubjects,
} from "./pool.ts";
