/**
 * `ShellBolt`: a bolt run by a subprocess speaking Storm's multilang protocol.
 *
 * @module
 */
import { EMIT_TASKS } from "../actors/collectors.ts";
import type { OutputCollector } from "../topology/collectors.ts";
import type { IRichBolt, MaybePromise } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { EFFECTIVELY_ONCE_REFUSAL } from "../topology/stateful.ts";
import { DEFAULT_STREAM, type Tuple } from "../topology/tuple.ts";
import type { MultilangError, ShellComponentOptions } from "./options.ts";
import { checkCommand, declareShellOutputs, normalizeOutputs, type ShellOutputs } from "./outputs.ts";
import type { ShellProcess } from "./shell_process.ts";
import {
  type CollectorHooks,
  countMetric,
  crashTask,
  sharedCommand,
  type ShellRun,
  startShell,
  stopShell,
} from "./shell_component.ts";

/** What a collector of the engine offers a shell bolt beyond `OutputCollector`. */
type EngineCollector = OutputCollector & CollectorHooks & {
  [EMIT_TASKS]?(stream: string, anchors: readonly Tuple[], values: unknown[]): number[];
};

/** A waiter of the bolt: execute when the subprocess holds too many tuples, drain/finish for all of them. */
interface Waiter {
  /** Settles when the subprocess holds at most this many tuples. */
  readonly below: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** The running state of one bolt task (null before prepare and after cleanup). */
class BoltRun {
  readonly inputs = new Map<string, Tuple>();
  nextId = 0;
  waiter: Waiter | null = null;
  /** When the heartbeat in flight was sent (0: none). */
  heartbeatSentAt = 0;
  heartbeats = 0;
  shell: ShellRun | null = null;
  constructor(
    readonly collector: EngineCollector,
    readonly maxPending: number,
  ) {}
}

/**
 * Storm's `ShellBolt` (with Flux's `FluxShellBolt` constructor): each task
 * runs `command` as a subprocess and exchanges Storm multilang messages with
 * it: tuples go to it as they arrive (up to `topology.shellbolt.max.pending`
 * unacked), heartbeats every second; its emits, acks, fails, logs, errors
 * and metrics come back. Subclasses may override `declareOutputFields`.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * builder.setBolt("split", new ShellBolt(["python3", "splitsentence.py"], ["word"]), 2).shuffleGrouping("sentences");
 * ```
 */
export class ShellBolt implements IRichBolt {
  /** The subprocess's command: program, then arguments. */
  readonly command: string[];
  /** Declared outputs (copied to plain arrays). */
  readonly outputFields: string[] | Record<string, string[]> | undefined;
  readonly options: ShellComponentOptions;
  // Not a #private field: instances are copied per task by their own properties.
  protected run: BoltRun | null = null;
  protected conf: TopologyConfig | null = null;
  protected context: TopologyContext | null = null;

  constructor(command: string[], outputFields?: ShellOutputs, options: ShellComponentOptions = {}) {
    this.command = checkCommand("ShellBolt", command);
    this.outputFields = normalizeOutputs(outputFields);
    this.options = { ...options };
  }

  prepare(conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): MaybePromise {
    this.conf = conf;
    this.context = context;
    // EFFECTIVELY_ONCE: a checkpoint marker must not overtake the emits of a
    // tuple the subprocess still holds, so it holds one at a time.
    const maxPending = conf["topology.reliability.mode"] === "EFFECTIVELY_ONCE"
      ? 1
      : conf["topology.shellbolt.max.pending"] ?? 100;
    const run = new BoltRun(collector as EngineCollector, maxPending);
    this.run = run;
    return startShell("bolt", this.command, this.options, conf, context, {
      collector: run.collector,
      onMessage: (msg, proc) => this.onShellMessage(run, msg, proc),
      onFault: (e) => this.onShellFault(run, e),
      everySecond: (proc) => this.sendHeartbeat(run, proc),
    }).then((shell) => {
      if (this.run === run) run.shell = shell;
      else void stopShell(shell); // cleaned up meanwhile
    });
  }

  execute(input: Tuple): MaybePromise {
    const run = this.run!;
    const id = String(++run.nextId);
    run.inputs.set(id, input);
    run.shell!.proc.send({
      id,
      comp: input.getSourceComponent(),
      stream: input.getSourceStreamId(),
      task: input.getSourceTask(),
      tuple: input.getValues(),
    });
    if (run.inputs.size < run.maxPending) return;
    return this.untilHeldAtMost(run, Math.floor(run.maxPending / 2));
  }

  /** Ardea: its input drained; the subprocess has the last tuples, wait for their acks. */
  drain(): MaybePromise {
    return this.untilNoneHeld();
  }

  /** Ardea: its input ended; wait for the acks of what the subprocess holds. */
  finish(): MaybePromise {
    return this.untilNoneHeld();
  }

  private untilNoneHeld(): MaybePromise {
    const run = this.run;
    if (run === null || run.inputs.size === 0) return;
    return this.untilHeldAtMost(run, 0);
  }

  private untilHeldAtMost(run: BoltRun, below: number): Promise<void> {
    return new Promise((resolve, reject) => (run.waiter = { below, resolve, reject }));
  }

  /** Stops the subprocess (SIGTERM, then SIGKILL after a grace). */
  cleanup(): MaybePromise {
    const run = this.run;
    this.run = null;
    if (run === null) return;
    run.inputs.clear();
    return stopShell(run.shell);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declareShellOutputs(declarer, this.outputFields);
  }

  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }

  /**
   * A `metrics` command: by default, a number adds to the task's counter
   * `name`, an object of numbers to counters `name.key`. Override to feed
   * metrics of your own (registered in `prepare`).
   */
  protected updateMetric(name: string, params: unknown): void {
    countMetric(this.context!, name, params);
  }

  /** Refused unless declared stateless: a subprocess's own state cannot roll back to a checkpoint. */
  [EFFECTIVELY_ONCE_REFUSAL](): string | null {
    return this.options.stateless === true
      ? null
      : `its subprocess (\`${this.command.join(" ")}\`) may keep state that ` +
        "Ardea cannot checkpoint or roll back; if it keeps none, declare it with " +
        "new ShellBolt(command, fields, { stateless: true })";
  }

  private onShellMessage(run: BoltRun, msg: Record<string, unknown> | unknown[], proc: ShellProcess): void {
    if (this.run !== run) return;
    if (Array.isArray(msg)) {
      throw proc.protocolError(`sent an array where a command was expected: ${JSON.stringify(msg)}`);
    }
    const c = run.collector;
    switch (msg.command) {
      case "ack":
      case "fail": {
        const t = run.inputs.get(String(msg.id));
        if (t === undefined) {
          throw proc.protocolError(
            `sent ${msg.command} for id ${
              JSON.stringify(msg.id)
            }, which it does not hold (acked or failed already, or never sent)`,
          );
        }
        run.inputs.delete(String(msg.id));
        if (msg.command === "ack") c.ack(t);
        else c.fail(t);
        const w = run.waiter;
        if (w !== null && run.inputs.size <= w.below) {
          run.waiter = null;
          w.resolve();
        }
        return;
      }
      case "emit":
        return this.shellEmit(run, proc, msg);
      case "sync":
        run.heartbeatSentAt = 0;
        return;
      default:
        if (
          !sharedCommand(msg, c, this.conf!, proc, (name, params) => this.updateMetric(name, params))
        ) {
          throw proc.protocolError(`sent an unknown command: ${JSON.stringify(msg).slice(0, 200)}`);
        }
    }
  }

  private shellEmit(run: BoltRun, proc: ShellProcess, msg: Record<string, unknown>): void {
    const tuple = msg.tuple;
    if (!Array.isArray(tuple)) {
      throw proc.protocolError(`sent an emit without a "tuple" array: ${JSON.stringify(msg).slice(0, 200)}`);
    }
    const stream = typeof msg.stream === "string" ? msg.stream : DEFAULT_STREAM;
    const anchors: Tuple[] = [];
    if (Array.isArray(msg.anchors)) {
      for (const a of msg.anchors) {
        const t = run.inputs.get(String(a));
        if (t === undefined) {
          throw proc.protocolError(
            `anchored an emit to id ${
              JSON.stringify(a)
            }, which it does not hold (acked or failed already, or never sent)`,
          );
        }
        anchors.push(t);
      }
    }
    const c = run.collector;
    if (typeof msg.task === "number") {
      c.emitDirect(msg.task, stream, anchors, tuple);
      return;
    }
    if (msg.need_task_ids === false) {
      c.emit(stream, anchors, tuple);
      return;
    }
    const tasks = c[EMIT_TASKS] !== undefined
      ? c[EMIT_TASKS](stream, anchors, tuple)
      : (c.emit(stream, anchors, tuple), []);
    proc.sendTaskIds(tasks);
  }

  private sendHeartbeat(run: BoltRun, proc: ShellProcess): void {
    if (this.run !== run) return;
    const now = performance.now();
    const timeoutMs = (this.conf!["topology.subprocess.timeout.secs"] ?? 30) * 1000;
    if (run.heartbeatSentAt !== 0) {
      if (now - run.heartbeatSentAt > timeoutMs) proc.timedOut("did not answer a heartbeat (sync)");
      return;
    }
    run.heartbeatSentAt = now;
    proc.send({ id: `hb${++run.heartbeats}`, comp: "__system", stream: "__heartbeat", task: -1, tuple: [] });
  }

  /** The subprocess failed: the task's instance crashes (its held tuples fail) and is restarted. */
  private onShellFault(run: BoltRun, error: MultilangError): void {
    if (this.run !== run) return;
    const w = run.waiter;
    run.waiter = null;
    run.inputs.clear();
    if (w !== null) w.reject(error);
    else crashTask(run.collector, error, "execute");
  }
}
