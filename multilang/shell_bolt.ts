/**
 * `ShellBolt`: a bolt run by a subprocess speaking Storm's multilang protocol.
 *
 * @module
 */
import type { OutputCollector } from "../topology/collectors.ts";
import type { IRichBolt, MaybePromise } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import type { Tuple } from "../topology/tuple.ts";
import type { ShellComponentOptions } from "./options.ts";
import { declareShellOutputs, type ShellOutputs } from "./outputs.ts";

/**
 * Storm's `ShellBolt` (with Flux's `FluxShellBolt` constructor): each task
 * runs `command` as a subprocess and exchanges Storm multilang messages with it.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * builder.setBolt("split", new ShellBolt(["python3", "splitsentence.py"], ["word"]), 2).shuffleGrouping("sentences");
 * ```
 */
export class ShellBolt implements IRichBolt {
  constructor(
    readonly command: string[],
    readonly outputFields?: ShellOutputs,
    readonly options: ShellComponentOptions = {},
  ) {}

  prepare(_conf: TopologyConfig, _context: TopologyContext, _collector: OutputCollector): MaybePromise {}

  execute(_input: Tuple): MaybePromise {}

  cleanup(): MaybePromise {}

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declareShellOutputs(declarer, this.outputFields);
  }

  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }
}
