/**
 * Windowed bolts: sliding and tumbling windows by count or time, processing
 * or event time (watermarks, lag, a late-tuple stream), as Storm's
 * `BaseWindowedBolt`.
 *
 * @module
 */
export { Count, Duration, type DurationLike, type Extent, type WindowLength } from "./lengths.ts";
export { type TupleWindow, TupleWindowImpl } from "./tuple_window.ts";
export {
  BaseWindowedBolt,
  DEFAULT_WATERMARK_INTERVAL_MS,
  LATE_TUPLE_FIELDS,
  type ManualClock,
  manualClock,
  type WindowSpec,
  WINDOWS_STATE_KEY,
} from "./windowed_bolt.ts";
