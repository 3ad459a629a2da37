/**
 * The Streamlet API (Heron's functional API), typed: build a graph with
 * {@link Builder}, run it with {@link Runner}.
 *
 * @example
 * ```ts
 * import { Builder, Config, Runner } from "./mod.ts";
 * const builder = Builder.newBuilder();
 * builder.newSource(["the heron", "the egret"])
 *   .flatMap((line) => line.split(" "))
 *   .countByKey((word) => word)
 *   .consume((kv) => console.log(kv.getKey(), kv.getValue()));
 * const handle = await new Runner().run("words", Config.defaultConfig(), builder);
 * await handle.done;
 * ```
 *
 * @module
 */
export { Builder, type KVStreamlet, type PartitionFn, SinkStreamlet, type SourceInput, Streamlet } from "./graph.ts";
export { compile, plan } from "./compile.ts";
export { Config, ConfigBuilder, DeliverySemantics, Runner } from "./runner.ts";
export {
  type Context,
  type EventTime,
  JoinType,
  KeyedWindow,
  KeyValue,
  type Sink,
  type Source,
  type Transformer,
  Window,
  WindowConfig,
} from "./types.ts";
