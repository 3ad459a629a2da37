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
export { type ContainerStatus, runStatus, statusText, type TopologyStatus, topologyStatus } from "./status.ts";
export { describeError, type RunOutcome, runScript, summaryLine } from "./run.ts";
export {
  type ComponentRow,
  componentRows,
  formatCount,
  formatMs,
  formatUptime,
  liveTable,
  LiveView,
  type LiveViewOptions,
  measureRates,
  type RateBase,
  renderTable,
  statusLine,
  sumStats,
  type Totals,
} from "./live_view.ts";
