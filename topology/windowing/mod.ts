/**
 * Windowed bolts: sliding and tumbling windows by count or time, processing
 * or event time (watermarks, lag, a late-tuple stream), as Storm's
 * `BaseWindowedBolt`, run by a windowed bolt executor that `setBolt` wraps
 * around them.
 *
 * @module
 */
export { type ManualClock, manualClock } from "./clock.ts";
export { Count, Duration, type DurationLike, type Extent, type WindowLength } from "./lengths.ts";
export { type TupleWindow, TupleWindowImpl } from "./tuple_window.ts";
export {
  BaseWindowedBolt,
  DEFAULT_WATERMARK_INTERVAL_MS,
  isWindowedBolt,
  LATE_TUPLE_FIELDS,
  type WindowSpec,
} from "./windowed_bolt.ts";
export { boltForTask, WindowedBoltExecutor } from "./windowed_bolt_executor.ts";
export {
  type SavedTuple,
  savedWindows,
  takeWindows,
  tuplesHeld,
  WINDOWS_STATE_KEY,
  type WindowsSnapshot,
} from "./windows_state.ts";
