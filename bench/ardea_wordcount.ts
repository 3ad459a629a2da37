/**
 * Ardea side of the `wordcount-embedded` benchmark. PLACEHOLDER: the engine
 * author replaces the body of runWordCount with a real embedded topology
 * (spout over `lines` → split bolt → fields-grouped count bolt).
 */

/** Delivery modes benchmarked (topology.reliability.mode). */
export type WordCountMode = "ATMOST_ONCE" | "ATLEAST_ONCE";

/** Options of {@link runWordCount}. */
export interface WordCountOptions {
  mode: WordCountMode;
  /** Instances of the split bolt. */
  splitParallelism: number;
  /** Instances of the count bolt (fields grouping on "word"). */
  countParallelism: number;
}

/**
 * Counts the words of `lines` with the embedded Ardea engine.
 *
 * Contract (checked by bench/wordcount_embedded.ts against a plain loop):
 * - tokenise exactly like the baselines: `line.split(/\s+/)`, drop empty tokens;
 * - every line is emitted once by a spout; in ATLEAST_ONCE with a msgId, so
 *   every tuple tree is acked before the promise resolves;
 * - resolve with the merged counts of all count-bolt instances, after the
 *   topology has processed every line and been shut down (the timed region
 *   covers building, running and tearing down the topology);
 * - do not mutate `lines`; reject on engine failure.
 */
export async function runWordCount(
  lines: readonly string[],
  opts: WordCountOptions,
): Promise<Map<string, number>> {
  void lines, opts;
  throw new Error("ardea engine not available yet");
}
