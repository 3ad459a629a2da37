/**
 * The streamlet value types cross processes as themselves: importing this
 * module registers {@link KeyValue}, {@link KeyedWindow} and {@link Window}
 * with the wire codec, as msgpack extension types 100, 99 and 98 (a user's
 * own `registerType` calls must pick other numbers).
 *
 * @module
 */
import { registerType } from "../transport/codec.ts";
import { KeyedWindow, KeyValue, Window } from "./types.ts";

/**
 * The extension type numbers of the streamlet value types.
 *
 * @example
 * ```ts
 * STREAMLET_TYPE_CODES.KeyValue; // 100
 * ```
 */
export const STREAMLET_TYPE_CODES = { KeyValue: 100, KeyedWindow: 99, Window: 98 } as const;

registerType<KeyValue<unknown, unknown>>(KeyValue, {
  type: STREAMLET_TYPE_CODES.KeyValue,
  write: (kv) => [kv.key, kv.value],
  read: (d) => new KeyValue((d as unknown[])[0], (d as unknown[])[1]),
});
registerType<KeyedWindow<unknown>>(KeyedWindow, {
  type: STREAMLET_TYPE_CODES.KeyedWindow,
  write: (kw) => [kw.key, kw.window],
  read: (d) => new KeyedWindow((d as unknown[])[0], (d as unknown[])[1] as Window),
});
registerType(Window, {
  type: STREAMLET_TYPE_CODES.Window,
  write: (w) => [w.startTime, w.endTime, w.count],
  read: (d) => {
    const [s, e, n] = d as number[];
    return new Window(s!, e!, n!);
  },
});
