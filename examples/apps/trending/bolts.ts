/**
 * The components of the trending-hashtags topology, in Storm's
 * RollingTopWords shape (storm-starter's `RollingCountBolt`,
 * `IntermediateRankingsBolt`, `TotalRankingsBolt`), on event-time sliding
 * windows and with their state kept for EFFECTIVELY_ONCE:
 *
 * - {@link TweetSpout}: the generator's tweets; its position is its state,
 *   so a rollback rewinds it.
 * - {@link HashtagBolt}: tweet → one `[tag, ts]` per distinct hashtag.
 * - {@link RollingCountBolt}: an Ardea windowed bolt (event time, allowed
 *   lateness); per window, `[end, tag, count]` for each hashtag of its
 *   share (counts kept from window to window: new tuples in, expired ones
 *   out), then `["ends"] = [end]`: "I have closed window `end`".
 * - {@link IntermediateRankingsBolt}: partitioned by hashtag like the
 *   counters, so it sees every count of its hashtags: it computes their
 *   velocity (count minus count in the previous window) and ranks its share
 *   of each window once every counter has closed it.
 * - {@link TotalRankingsBolt}: one task; merges the partial rankings of a
 *   window once every ranker has sent its own.
 *
 * Why a window is complete: a counter task fires its windows in order and
 * a task's tuples reach another task in order, so once every counter task
 * has closed window `end` (or a later one: a task with no hashtags in a
 * window fires nothing for it), no count of that window is still to come.
 * The `ends` stream goes to every ranker (all grouping), so every ranker
 * knows every window and sends a partial ranking, maybe empty, for each.
 *
 * @module
 */
import {
  BaseBasicBolt,
  BaseRichBolt,
  BaseStatefulSpout,
  BaseWindowedBolt,
  type BasicOutputCollector,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
  type TupleWindow,
} from "../../../mod.ts";
import { type Entry, hashtagsOf, rankWindow, topN, type Tweet, type WindowRanking } from "./model.ts";

/** Tweets emitted per `nextTuple` call (unpaced). */
const BATCH = 64;

/**
 * Emits the tweets of a re-iterable source, one field `"tweet"`. Its state
 * is the count of tweets it has emitted: after a rollback it iterates the
 * source again and skips that many. With `rate` > 0 it keeps to `rate`
 * tweets per wall-clock second (counted from its start or rewind, so a
 * rewind does not wait for the tweets it skips).
 */
export class TweetSpout extends BaseStatefulSpout<string, number> {
  #state: KeyValueState<string, number> | null = null;
  #collector!: SpoutOutputCollector;
  #iter!: Iterator<Tweet>;
  #position = 0;
  #skipTo = 0;
  #started = 0;
  #paced = 0;
  #done = false;

  constructor(
    readonly tweets: Iterable<Tweet>,
    readonly rate: number,
    /**
     * Called after each `nextTuple` that emitted: how many it emitted, and the
     * source positions this instance started at and has reached (a rewind
     * starts again at the checkpoint's position).
     */
    readonly onEmit: (n: number, from: number, to: number) => void = () => {},
  ) {
    super();
  }

  initState(state: KeyValueState<string, number>): void {
    this.#state = state;
    this.#skipTo = state.get("position") ?? 0;
  }

  override preSave(): void {
    this.#state?.put("position", this.#position);
  }

  override open(_conf: TopologyConfig, _context: TopologyContext, collector: SpoutOutputCollector): void {
    this.#collector = collector;
    this.#iter = this.tweets[Symbol.iterator]();
    for (; this.#position < this.#skipTo; this.#position++) {
      if (this.#iter.next().done) break;
    }
    this.#started = Date.now();
  }

  nextTuple(): void {
    if (this.#done) return;
    let n = BATCH;
    if (this.rate > 0) {
      n = Math.min(BATCH, Math.floor(((Date.now() - this.#started) * this.rate) / 1000) - this.#paced);
      if (n <= 0) return;
    }
    let emitted = 0;
    for (; emitted < n; emitted++) {
      const r = this.#iter.next();
      if (r.done) {
        this.#done = true;
        this.#collector.finish();
        break;
      }
      this.#position++;
      this.#collector.emit([r.value]);
    }
    this.#paced += emitted;
    if (emitted > 0) this.onEmit(emitted, this.#skipTo, this.#position);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["tweet"]);
  }
}

/** Tweet → `[tag, ts]` for each distinct hashtag (twitter-text, see {@link hashtagsOf}). */
export class HashtagBolt extends BaseBasicBolt {
  execute(t: Tuple, c: BasicOutputCollector): void {
    const tweet = t.getValue(0) as Tweet;
    for (const tag of hashtagsOf(tweet.text)) c.emit([tag, tweet.ts]);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["tag", "ts"]);
  }
}

/**
 * Counts hashtags per sliding event-time window (configure it with
 * `withWindow`, `withTimestampField("ts")` and `withLag`): per window,
 * `[end, tag, count]` for each hashtag in it, then `[end]` on the `"ends"`
 * stream.
 *
 * The counts are kept from window to window, as Storm's
 * `SlotBasedCounter` does: each window adds its new tuples and takes away
 * the tuples that left since the previous one, instead of counting the
 * whole window again (a tuple is in length / slide windows: 30 here). The
 * engine keeps the windows; this bolt keeps the counts in its own state, so
 * under EFFECTIVELY_ONCE both come back from the same checkpoint. The
 * counts are not anchored to tuples (they are made of many windows'
 * tuples): the bolt is for EFFECTIVELY_ONCE and ATMOST_ONCE.
 */
export class RollingCountBolt extends BaseWindowedBolt {
  #collector!: OutputCollector;
  #state: KeyValueState<string, Array<[string, number]>> | null = null;
  readonly #counts = new Map<string, number>();

  initState(state: KeyValueState<string, Array<[string, number]>>): void {
    this.#state = state;
    this.#counts.clear();
    for (const [tag, n] of state.get("counts") ?? []) this.#counts.set(tag, n);
  }

  preSave(): void {
    this.#state?.put("counts", [...this.#counts]);
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(window: TupleWindow): void {
    const counts = this.#counts;
    for (const t of window.getNew()) {
      const tag = t.getString(0);
      counts.set(tag, (counts.get(tag) ?? 0) + 1);
    }
    for (const t of window.getExpired()) {
      const tag = t.getString(0);
      const n = counts.get(tag)! - 1;
      if (n === 0) counts.delete(tag);
      else counts.set(tag, n);
    }
    const end = window.getEndTimestamp();
    // Explicit (no) anchors: the windowed collector would anchor each emit to the whole window.
    for (const [tag, n] of counts) this.#collector.emit(null, [end, tag, n]);
    this.#collector.emit("ends", null, [end]);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["end", "tag", "count"]);
    d.declareStream("ends", ["end"]);
  }
}

/** What {@link IntermediateRankingsBolt} keeps in its state (plain data, for checkpoints). */
interface RankerState {
  /** Counts of windows not yet complete: [end, [tag, count][]]. */
  pending: Array<[number, Array<[string, number]>]>;
  /** Per counter task, the last window it closed. */
  closed: Array<[number, number]>;
  /** Windows some counter has closed and this ranker has not ranked yet. */
  announced: number[];
  /** The last window ranked and its counts (the velocities of the next one). */
  last: [number, Array<[string, number]>] | null;
}

/**
 * Ranks its share of the hashtags (it gets them by a fields grouping on
 * "tag", as the counters do) per window, with velocities: emits `[end,
 * start, top]` (`top`: its best {@link Entry}s) for every window, in window
 * order, once every counter task has closed it.
 */
export class IntermediateRankingsBolt extends BaseRichBolt {
  #state: KeyValueState<string, RankerState> | null = null;
  #collector!: OutputCollector;
  #counterTasks = 0;
  readonly #pending = new Map<number, Map<string, number>>();
  readonly #closed = new Map<number, number>();
  readonly #announced = new Set<number>();
  #last: { end: number; counts: Map<string, number> } | null = null;

  constructor(readonly counter: string, readonly lengthMs: number, readonly slideMs: number, readonly n: number) {
    super();
  }

  /** EFFECTIVELY_ONCE: the windows in progress come back after a rollback. */
  initState(state: KeyValueState<string, RankerState>): void {
    this.#state = state;
    const s = state.get("ranker");
    if (s === undefined) return;
    for (const [end, counts] of s.pending) this.#pending.set(end, new Map(counts));
    for (const [task, end] of s.closed) this.#closed.set(task, end);
    for (const end of s.announced) this.#announced.add(end);
    this.#last = s.last === null ? null : { end: s.last[0], counts: new Map(s.last[1]) };
  }

  preSave(): void {
    this.#state?.put("ranker", {
      pending: [...this.#pending].map(([end, m]) => [end, [...m]]),
      closed: [...this.#closed],
      announced: [...this.#announced],
      last: this.#last === null ? null : [this.#last.end, [...this.#last.counts]],
    });
  }

  override prepare(_conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
    this.#counterTasks = context.getComponentTasks(this.counter).length;
  }

  execute(t: Tuple): void {
    const end = t.getInteger(0);
    if (t.getSourceStreamId() === "ends") {
      this.#closed.set(t.getSourceTask(), end);
      this.#announced.add(end);
      if (this.#closed.size === this.#counterTasks) this.#rankUpTo(Math.min(...this.#closed.values()));
    } else {
      let counts = this.#pending.get(end);
      if (counts === undefined) this.#pending.set(end, counts = new Map());
      counts.set(t.getString(1), t.getInteger(2));
    }
    this.#collector.ack(t);
  }

  /** End of input: every counter has fired its last window. */
  finish(): void {
    this.#rankUpTo(Infinity);
  }

  #rankUpTo(upTo: number): void {
    const ends = [...this.#announced].filter((e) => e <= upTo).sort((a, b) => a - b);
    for (const end of ends) {
      const counts = this.#pending.get(end) ?? new Map<string, number>();
      const previous = this.#last?.end === end - this.slideMs ? this.#last.counts : new Map<string, number>();
      this.#collector.emit([end, end - this.lengthMs, rankWindow(counts, previous, this.n)]);
      this.#last = { end, counts };
      this.#pending.delete(end);
      this.#announced.delete(end);
    }
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["end", "start", "top"]);
  }
}

/** What {@link TotalRankingsBolt} keeps in its state. */
type TotalState = Array<[number, number, number, Entry[]]>;

/**
 * Merges the partial rankings: emits `["ranking"] =` {@link WindowRanking}
 * for each window once every ranker has sent its part (they send every
 * window, in order, so windows complete in order).
 */
export class TotalRankingsBolt extends BaseRichBolt {
  #state: KeyValueState<string, TotalState> | null = null;
  #collector!: OutputCollector;
  #rankers = 0;
  /** end → [start, parts received, merged top]. */
  readonly #partial = new Map<number, [number, number, Entry[]]>();

  constructor(readonly ranker: string, readonly n: number) {
    super();
  }

  initState(state: KeyValueState<string, TotalState>): void {
    this.#state = state;
    for (const [end, start, parts, top] of state.get("total") ?? []) this.#partial.set(end, [start, parts, top]);
  }

  preSave(): void {
    this.#state?.put("total", [...this.#partial].map(([end, [start, parts, top]]) => [end, start, parts, top]));
  }

  override prepare(_conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
    this.#rankers = context.getComponentTasks(this.ranker).length;
  }

  execute(t: Tuple): void {
    const end = t.getInteger(0);
    const p = this.#partial.get(end) ?? [t.getInteger(1), 0, []];
    p[1]++;
    p[2] = topN([...p[2], ...(t.getValue(2) as Entry[])], this.n);
    this.#partial.set(end, p);
    if (p[1] === this.#rankers) {
      this.#partial.delete(end);
      const ranking: WindowRanking = { start: p[0], end, top: p[2] };
      this.#collector.emit([ranking]);
    }
    this.#collector.ack(t);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["ranking"]);
  }
}
