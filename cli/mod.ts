/**
 * The `ardea` command line, for bin/ardea.mjs and tests.
 *
 * @example
 * ```ts
 * const code = await main(["run", "examples/word_count.ts"]);
 * ```
 *
 * @module
 */
export { main } from "./main.ts";
export {
  type Command,
  COMMANDS,
  type KillCommand,
  type ListCommand,
  parseArgs,
  type RunCommand,
  type StatusCommand,
  type SteerCommand,
  UsageError,
} from "./args.ts";
export { ControlError, formatAge, runKill, runList, runSteer } from "./control.ts";
export { type ContainerStatus, runStatus, statusText, topologyStatus, type TopologyStatus } from "./status.ts";
export { describeError, runScript, type RunOutcome, summaryLine } from "./run.ts";
export {
  componentRows,
  type ComponentRow,
  formatCount,
  formatMs,
  formatUptime,
  LiveView,
  liveTable,
  type LiveViewOptions,
  measureRates,
  type RateBase,
  renderTable,
  statusLine,
  sumStats,
  type Totals,
} from "./live_view.ts";
