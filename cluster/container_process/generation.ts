/**
 * One generation of a container process: a stream manager on the
 * generation's epoch and a container of the tasks its plan gives this
 * process, until the master stops the run or (EFFECTIVELY_ONCE) asks every
 * container to roll back, which the next generation then runs in this
 * same process.
 *
 * ```text
 * starting ── start ──▶ running ──▶ (done)       ready said again every 2 s while starting
 *    │                     │
 *    └── rollback asked ───┴──▶ rollingBack ──▶ (the next generation)
 *  scheduler gone (any) ──▶ orphaned ──▶ (exit)
 * ```
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { hostname, pid, watchParent, yieldNow } from "../../runtime/mod.ts";
import {
  decodeObservation,
  encodeMetrics,
  encodeObservation,
  runEpoch,
  subjects,
  WireError,
} from "../../transport/wire/mod.ts";
import { type CheckpointSetup, Container, RollbackRequest, type RunSummary } from "../../engine/container.ts";
import type { SubmitRequest } from "../../engine/submit.ts";
import type { LogRing } from "../log_ring.ts";
import { type ErrorLog, metricsReport } from "../metrics_report.ts";
import type { Records } from "../records.ts";
import { StreamManager } from "../stream_manager.ts";
import { Taps } from "../taps.ts";
import { endLostMaster, MASTER_LEASE_MS } from "../master/lease.ts";
import { controlHandler } from "./control.ts";
import { heartbeatStats } from "./heartbeat.ts";
import { watchConnection, watchMasterLease } from "./master_watch.ts";
import type { Generation } from "./plan.ts";
import type { RollbackAsked, RollbackWatch } from "./rollback_watch.ts";

/** How long a container whose run asked the master for a rollback waits for it before exiting (ms). */
export const ROLLBACK_WAIT_MS = 20_000;
/** How long a container says `ready` before it says it again while no `start` came (ms). */
export const READY_AGAIN_MS = 2000;

/** Where one generation of a container process is. */
export type GenerationPhase =
  /** Tasks built, `ready` said (`readyAt`, performance ms; 0: not yet), waiting for the master's `start`. */
  | { kind: "starting"; readyAt: number }
  | { kind: "running" }
  /** The master asked every container to roll back: the tasks end; the next generation runs in this process. */
  | { kind: "rollingBack"; asked: RollbackAsked }
  /** The scheduler process is gone (a master killed with SIGKILL): the container is killed, the process exits. */
  | { kind: "orphaned" };

/** How one generation of a container ended. */
export type GenerationOutcome =
  | { kind: "exit"; code: number; summary?: RunSummary; error?: Error }
  | { kind: "rollback"; generation: number; restoreFrom: number };

/** Options of {@link runGeneration}. */
export interface GenerationOptions {
  nc: NatsConnection;
  index: number;
  log: (line: string) => void;
  ring: LogRing;
  req: SubmitRequest;
  errors: ErrorLog;
  records: Records;
  generation: Generation;
  checkpoints: CheckpointSetup | undefined;
  /** EFFECTIVELY_ONCE only. */
  rollbacks: RollbackWatch | null;
  /** Makes `c` the container the script's handle steers. */
  steer: (c: Container) => void;
  /** The code directory of the tasks (the topology's resources, extracted). */
  codeDir: string;
}

/**
 * Runs one generation until its container ends; resolves with how.
 *
 * @example
 * ```ts
 * declare const options: GenerationOptions; // nc, index, log, ring, req, errors, records, generation, …
 * const outcome = await runGeneration(options);
 * if (outcome.kind === "rollback") console.log(`next: generation ${outcome.generation}`);
 * ```
 */
export function runGeneration(o: GenerationOptions): Promise<GenerationOutcome> {
  return new GenerationRun(o).run();
}

/**
 * What a generation whose container failed with `error` turns into: the
 * next generation when it is a rollback the master asks for (at once when
 * it asked already, `rollingBack`; else within {@link ROLLBACK_WAIT_MS}, as
 * the container itself asked the master), an exit otherwise, and always
 * when the process lost its scheduler.
 *
 * @example
 * ```ts
 * import type { RollbackWatch } from "./rollback_watch.ts";
 * declare const rollbacks: RollbackWatch | null;
 * const phase: GenerationPhase = { kind: "running" };
 * const outcome = await afterFailure(new Error("boom"), phase, rollbacks, console.error, "container 1 of wc");
 * ```
 */
export async function afterFailure(
  error: Error,
  phase: GenerationPhase,
  rollbacks: Pick<RollbackWatch, "next"> | null,
  log: (line: string) => void,
  who: string,
): Promise<GenerationOutcome> {
  if (error instanceof RollbackRequest && rollbacks !== null && phase.kind !== "orphaned") {
    const asked = await rollbacks.next(phase.kind === "rollingBack" ? 0 : ROLLBACK_WAIT_MS);
    if (asked !== null) return { kind: "rollback", ...asked };
    log(`[ardea] ${who}: no rollback from the master within ${ROLLBACK_WAIT_MS / 1000} s; exiting`);
  }
  return { kind: "exit", code: 1, error };
}

class GenerationRun {
  readonly #o: GenerationOptions;
  readonly #host = hostname();
  #phase: GenerationPhase = { kind: "starting", readyAt: 0 };
  /** The end of the master recorded as lost (when this process saw its scheduler go), awaited before the outcome. */
  #recorded: Promise<unknown> = Promise.resolve();

  constructor(o: GenerationOptions) {
    this.#o = o;
  }

  run(): Promise<GenerationOutcome> {
    const { nc, index, req, checkpoints } = this.#o;
    const { rec, packing, topology, config } = this.#o.generation;
    const subj = subjects(rec.name);
    // deno-lint-ignore prefer-const -- assigned below, after the Taps whose callback reads it
    let container!: Container;
    const taps = new Taps(
      index,
      (id, t) => nc.publish(subj.tap(id), encodeObservation(t)),
      (fn) => {
        container.tap = fn ?? req.options.tap ?? null;
      },
    );
    const sm = new StreamManager({
      nc,
      topologyName: rec.name,
      topology,
      index,
      log: this.#o.log,
      epoch: runEpoch(rec.submittedAt, rec.generation),
      onControl: controlHandler({
        topology: rec.name,
        index,
        target: () => container,
        taps,
        ownTap: req.options.tap !== undefined,
        onStart: () => this.#started(),
      }),
    });
    container = new Container({
      name: rec.name,
      topology,
      config,
      yielder: yieldNow,
      tap: req.options.tap,
      log: this.#o.log,
      containerIndex: index,
      packing,
      remote: sm,
      checkpoints,
      onError: this.#o.errors.record,
      codeDir: this.#o.codeDir,
    });
    this.#o.steer(container);
    sm.attach(container);
    const unwatch = this.#watchScheduler(container);
    container.done.then(unwatch, unwatch);
    this.#watchRollbacks(container);
    // EFFECTIVELY_ONCE: frames, markers or control messages may be lost while
    // the connection is down; roll back rather than count on them.
    if (checkpoints !== undefined) {
      void watchConnection(nc, (why) => container.rollback(new Error(why)), container.done);
    }
    const stopLogs = this.#serveLogs(sm);
    const beat = () => this.#beat(container, sm);
    const hb = setInterval(beat, 1000);
    const close = async () => {
      clearInterval(hb);
      taps.close();
      stopLogs();
      await sm.close();
      await this.#recorded;
    };
    const outcome = container.done.then(
      async (summary): Promise<GenerationOutcome> => {
        beat();
        await close();
        return { kind: "exit", code: 0, summary };
      },
      async (e: Error) => {
        await close();
        return await afterFailure(e, this.#phase, this.#o.rollbacks, this.#o.log, `${rec.name} container ${index}`);
      },
    );
    nc.flush().then(() => this.#sayReady(sm));
    return outcome;
  }

  /** The master's `start`: the generation runs (once). */
  #started(): boolean {
    if (this.#phase.kind !== "starting") return false;
    this.#phase = { kind: "running" };
    return true;
  }

  #sayReady(sm: StreamManager): void {
    if (this.#phase.kind === "starting") this.#phase = { kind: "starting", readyAt: performance.now() };
    sm.event({ type: "ready", container: this.#o.index, pid: pid(), host: this.#host });
  }

  /**
   * No container outlives its scheduler (a master or worker killed with
   * SIGKILL). Under the local scheduler that is the master: nothing
   * replaces it, so the record must say the run FAILED (once the dead
   * master's lease runs out). And a master gone for good (its lease expired
   * and no master took over within the grace, as a pool worker would) ends
   * the run FAILED too. Returns the stop.
   */
  #watchScheduler(container: Container): () => void {
    const { records, index, log, nc } = this.#o;
    const { rec } = this.#o.generation;
    const unwatchParent = watchParent(() => {
      this.#phase = { kind: "orphaned" };
      log(`[ardea] ${rec.name} container ${index}: its scheduler process is gone; stopping`);
      if (rec.scheduler === "local") {
        this.#recorded = endLostMaster(records, rec.name, {
          who: `container ${index}`,
          submittedAt: rec.submittedAt,
          waitMs: MASTER_LEASE_MS + 3000,
        })
          .catch((e: Error) =>
            log(`[ardea] ${rec.name} container ${index}: cannot record that the master is lost: ${e.message}`)
          );
      }
      void container.kill();
    });
    const unwatchLease = watchMasterLease(records, rec.name, log, async () => {
      if (await endLostMaster(records, rec.name, { who: `container ${index}`, submittedAt: rec.submittedAt, nc })) {
        log(`[ardea] ${rec.name} container ${index}: the master is lost and none took over; the topology FAILED`);
      }
    });
    return () => {
      unwatchParent();
      unwatchLease();
    };
  }

  /** The master asks every container to roll back: this one resets in place. */
  #watchRollbacks(container: Container): void {
    void this.#o.rollbacks?.next().then((asked) => {
      const p = this.#phase;
      if (asked === null || p.kind === "rollingBack" || p.kind === "orphaned") return;
      this.#phase = { kind: "rollingBack", asked };
      container.rollback(new Error(`the master rolls every container back to checkpoint ${asked.restoreFrom}`));
    });
  }

  /** Answers `ardea logs` with the last lines of this process; returns the stop. */
  #serveLogs(sm: StreamManager): () => void {
    const { nc, index, ring } = this.#o;
    const host = this.#host;
    const sub = nc.subscribe(subjects(this.#o.generation.rec.name).logs(index), {
      callback: (err, msg) => {
        if (err || msg.reply === undefined || msg.reply === "") return;
        try {
          const q = decodeObservation.logsRequest(msg.data);
          msg.respond(
            encodeObservation({ container: index, pid: pid(), host, lines: ring.last(q.lines), dropped: ring.dropped }),
          );
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          sm.dropped++;
        }
      },
    });
    return () => sub.unsubscribe();
  }

  /** Every second: `ready` again while starting (it or `start` may be lost in a NATS restart), the metrics, the heartbeat. */
  #beat(container: Container, sm: StreamManager): void {
    const { nc, index, errors } = this.#o;
    const { rec } = this.#o.generation;
    const p = this.#phase;
    if (p.kind === "starting" && p.readyAt > 0 && performance.now() - p.readyAt >= READY_AGAIN_MS) this.#sayReady(sm);
    const st = container.stats({ buckets: true });
    const host = this.#host;
    // For trackers (ardea ui --nats): every counter, per task and component.
    const source = {
      topology: rec.name,
      container: index,
      epoch: runEpoch(rec.submittedAt, rec.generation),
      pid: pid(),
      host,
    };
    nc.publish(
      subjects(rec.name).metrics,
      encodeMetrics(metricsReport(source, st, sm, container.pressureSource(), errors)),
    );
    sm.event({
      type: "heartbeat",
      container: index,
      pid: pid(),
      host,
      ts: Date.now(),
      stats: heartbeatStats(st, sm, container.pressureSource()),
    });
  }
}
