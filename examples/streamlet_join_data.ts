/**
 * The ad impressions and clicks of examples/streamlet_join.ts, generated
 * from a seed, so that the example and a test computing the same join
 * plainly see the same events.
 *
 * @module
 */
import { mulberry32 } from "../testing/random.ts";

/** An ad shown to a user at `time` (epoch ms). */
export interface Impression {
  adId: string;
  userId: string;
  time: number;
}

/** A user's click on an ad at `time` (epoch ms). */
export interface Click {
  adId: string;
  userId: string;
  time: number;
}

/** 1 January 2026, UTC: the generated events start here. */
export const START_MS = Date.UTC(2026, 0, 1);

/**
 * `impressions` impressions, 0 to 200 ms apart, of 8 ads to 40 users, and
 * their clicks: about a third of the impressions are clicked 0.1 to 8 s
 * later by the same user, and a stray click (some user, some ad, up to
 * 5 s before or after some impression) comes about every 10 impressions.
 * Both lists are in time order (ties keep their generation order).
 *
 * @example
 * ```ts
 * const { impressions, clicks } = adEvents(1, 100);
 * impressions.length; // 100
 * ```
 */
export function adEvents(seed: number, impressions: number): { impressions: Impression[]; clicks: Click[] } {
  const rand = mulberry32(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const shown: Impression[] = [];
  const clicks: Click[] = [];
  let time = START_MS;
  for (let i = 0; i < impressions; i++) {
    time += pick(201);
    const imp = { adId: `ad-${pick(8)}`, userId: `user-${pick(40)}`, time };
    shown.push(imp);
    if (rand() < 0.35) clicks.push({ adId: imp.adId, userId: imp.userId, time: time + 100 + pick(7901) });
    if (rand() < 0.1) {
      clicks.push({
        adId: `ad-${pick(8)}`,
        userId: `user-${pick(40)}`,
        time: Math.max(START_MS, time - 5000 + pick(10_001)),
      });
    }
  }
  // A stable sort: equal times keep their order.
  clicks.sort((a, b) => a.time - b.time);
  return { impressions: shown, clicks };
}
