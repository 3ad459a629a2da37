/**
 * `ShellSpout`: a spout run by a subprocess speaking Storm's multilang protocol.
 *
 * @module
 */
import type { SpoutOutputCollector } from "../topology/collectors.ts";
import type { ISpout, MaybePromise } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import type { ShellComponentOptions } from "./options.ts";
import { declareShellOutputs, type ShellOutputs } from "./outputs.ts";

/**
 * Storm's `ShellSpout` (with Flux's `FluxShellSpout` constructor): each task
 * runs `command` as a subprocess and asks it for tuples with `next`.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * builder.setSpout("sentences", new ShellSpout(["node", "randomsentence.js"], ["sentence"]));
 * ```
 */
export class ShellSpout implements ISpout {
  constructor(
    readonly command: string[],
    readonly outputFields?: ShellOutputs,
    readonly options: ShellComponentOptions = {},
  ) {}

  open(_conf: TopologyConfig, _context: TopologyContext, _collector: SpoutOutputCollector): MaybePromise {}

  nextTuple(): MaybePromise {}

  ack(_msgId: unknown): MaybePromise {}

  fail(_msgId: unknown): MaybePromise {}

  activate(): MaybePromise {}

  deactivate(): MaybePromise {}

  close(): MaybePromise {}

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declareShellOutputs(declarer, this.outputFields);
  }

  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }
}
