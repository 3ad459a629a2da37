/**
 * Storm multilang: `ShellBolt` and `ShellSpout` run a subprocess per task
 * that speaks Storm's multilang protocol (JSON messages ended by a line
 * `end`, or consecutive msgpack maps).
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
export { ShellBolt } from "./shell_bolt.ts";
export { ShellSpout } from "./shell_spout.ts";
