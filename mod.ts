/**
 * Ardea: a real-time, distributed, fault-tolerant stream processing engine
 * for TypeScript, with Apache Storm's API names.
 *
 * @example
 * ```ts
 * import { TopologyBuilder, Fields, submit } from "ardea";
 * ```
 *
 * This is the public API, exported by name. What tools and tests need beyond
 * it (the tuple implementation, the logical plan, the fields hash, …) is in
 * `ardea/internal` (internal.ts), which may change in any release.
 *
 * @module
 */
export { ArdeaError, ConfigError, EmitError, InvalidTopologyError } from "./topology/errors.ts";
export { Fields, type FieldsLike, Values } from "./topology/fields.ts";
export { Config, type ConfigInput, parseConfig, ReliabilityMode, type TopologyConfig } from "./topology/config.ts";
export { DEFAULT_STREAM, isTick, type MessageId, StreamInfo, TICK_STREAM, type Tuple } from "./topology/tuple.ts";
export { type OutputFieldsDeclarer, type StreamDecl } from "./topology/declarer.ts";
export {
  type Anchors,
  type BasicOutputCollector,
  type OutputCollector,
  type SpoutOutputCollector,
} from "./topology/collectors.ts";
export {
  BaseBasicBolt,
  BaseRichBolt,
  BaseRichSpout,
  FailedException,
  type IBasicBolt,
  type IBolt,
  type IComponent,
  type IRichBolt,
  type ISpout,
  type MaybePromise,
} from "./topology/components.ts";
export { type CustomStreamGrouping, type Grouping } from "./topology/grouping.ts";
export { TopologyContext } from "./topology/context.ts";
export {
  type Counter,
  CountMetric,
  type Gauge,
  type Histogram,
  type IMetric,
  type Meter,
  type MetricRegistry,
  MultiCountMetric,
} from "./topology/metrics.ts";
export { type StormTopology } from "./topology/topology.ts";
export { type BoltDeclarer, type ComponentDeclarer, type SpoutDeclarer, TopologyBuilder } from "./topology/builder.ts";
export {
  bolt,
  type BoltOptions,
  iterableSpout,
  type IterableSpoutOptions,
  type Outputs,
} from "./topology/functional.ts";
export {
  BaseStatefulBolt,
  BaseStatefulSpout,
  type IStatefulComponent,
  type KeyValueState,
} from "./topology/stateful.ts";
export {
  BaseWindowedBolt,
  Count,
  Duration,
  type DurationLike,
  type Extent,
  LATE_TUPLE_FIELDS,
  type ManualClock,
  manualClock,
  type TupleWindow,
  type WindowLength,
  type WindowSpec,
} from "./topology/windowing/mod.ts";
export { ComponentFailedError } from "./actors/mod.ts";
export {
  type CompletedTopology,
  completeTopology,
  type CompleteTopologyOptions,
  type ComponentStats,
  LocalCluster,
  onSubmit,
  type RunState,
  type RunSummary,
  submit,
  type SubmitOptions,
  type TaskStats,
  type TopologyHandle,
  type TopologyStats,
} from "./engine/mod.ts";
export { registerType, type TypeCodec } from "./transport/mod.ts";
export {
  FileStateBackend,
  MemoryStateBackend,
  NatsStateBackend,
  State,
  type StateBackend,
  StateError,
} from "./state/mod.ts";
export {
  effectivelyOnceRecoveryMs,
  encodeForNats,
  JetStreamSpout,
  JetStreamSpoutError,
  type JetStreamSpoutOptions,
  NatsSinkBolt,
  NatsSinkError,
  type NatsSinkOptions,
} from "./transport/mod.ts";
export {
  closeNats,
  connectNats,
  type ConnectNatsOptions,
  type NatsSettings,
  parseNatsFlags,
} from "./transport/nats_connect.ts";
export {
  MultilangError,
  type MultilangSerializer,
  ShellBolt,
  type ShellComponentOptions,
  type ShellOutputs,
  ShellSpout,
} from "./multilang/mod.ts";
export {
  Builder,
  Config as StreamletConfig,
  type Context,
  JoinType,
  KeyedWindow,
  KeyValue,
  type KVStreamlet,
  Runner,
  type Sink,
  SinkStreamlet,
  type Source,
  Streamlet,
  type Transformer,
  Window,
  WindowConfig,
} from "./streamlet/mod.ts";
