/**
 * Storm multilang: `ShellBolt` and `ShellSpout` run a subprocess per task
 * that speaks Storm's multilang protocol (docs/Multilang-protocol.md in
 * apache/storm): JSON messages ended by a line `end`, or, as Ardea's option,
 * consecutive msgpack maps. The subprocess runs in `options.cwd`, else the
 * topology's code dir, else the current directory.
 *
 * Configuration: `topology.multilang.serializer` ("json" | "msgpack"; the
 * subprocess also finds it in `ARDEA_MULTILANG_SERIALIZER`),
 * `topology.subprocess.timeout.secs` (handshake, heartbeat and spout sync
 * timeout), `topology.shellbolt.max.pending` (tuples a bolt's subprocess
 * holds unacked before `execute` waits), and
 * `topology.multilang.stderr.max.bytes.per.sec`; each may be set per
 * component.
 *
 * A subprocess that exits, cannot start, writes something that is not a
 * message, breaks the protocol, misses a heartbeat or a sync, or floods
 * stderr crashes its task: the subprocess is killed, the tuples it held fail
 * (ATLEAST_ONCE replays them), and the supervisor restarts the task with a
 * new subprocess; the error names the command, component, task and the last
 * stderr lines.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * import { ShellBolt, ShellSpout } from "./mod.ts";
 * const builder = new TopologyBuilder();
 * builder.setSpout("sentences", new ShellSpout(["node", "sentences.js"], ["sentence"]));
 * builder.setBolt("split", new ShellBolt(["python3", "split.py"], ["word"]), 2).shuffleGrouping("sentences");
 * ```
 *
 * @module
 */
export { MultilangError, type MultilangSerializer, type ShellComponentOptions } from "./options.ts";
export { type ShellOutputs } from "./outputs.ts";
export { SERIALIZER_ENV } from "./shell_component.ts";
export { ShellBolt } from "./shell_bolt.ts";
export { ShellSpout } from "./shell_spout.ts";
