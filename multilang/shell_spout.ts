/**
 * `ShellSpout`: a spout run by a subprocess speaking Storm's multilang protocol.
 *
 * @module
 */
import { CRASH_TASK, EMIT_TASKS } from "../actors/collectors.ts";
import type { SpoutOutputCollector } from "../topology/collectors.ts";
import type { ISpout, MaybePromise } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { EFFECTIVELY_ONCE_REFUSAL } from "../topology/stateful.ts";
import { DEFAULT_STREAM } from "../topology/tuple.ts";
import type { MultilangError, ShellComponentOptions } from "./options.ts";
import { checkCommand, declareShellOutputs, normalizeOutputs, type ShellOutputs } from "./outputs.ts";
import type { ShellProcess } from "./shell_process.ts";
import {
  type CollectorHooks,
  countMetric,
  sharedCommand,
  type ShellRun,
  startShell,
  stopShell,
} from "./shell_component.ts";

/** What a collector of the engine offers a shell spout beyond `SpoutOutputCollector`. */
type EngineCollector = SpoutOutputCollector & CollectorHooks & {
  [EMIT_TASKS]?(stream: string, values: unknown[], msgId: unknown): number[];
};

/** The running state of one spout task. */
class SpoutRun {
  /** Commands sent (next, ack, fail, activate, deactivate) whose `sync` has not come yet. */
  owed = 0;
  /** Since when a sync has been owed (0: none). */
  owedSince = 0;
  waiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** Message ids this subprocess emitted and that are not completed: acks and fails of others are not its own. */
  readonly ids = new Map<unknown, number>();
  shell: ShellRun | null = null;
  constructor(readonly collector: EngineCollector) {}
}

/**
 * Storm's `ShellSpout` (with Flux's `FluxShellSpout` constructor): each task
 * runs `command` as a subprocess and asks it for tuples with `next`; acks,
 * fails, activate and deactivate go to it too, and each is answered by a
 * `sync`. Ardea extension: the subprocess may send `{"command": "finish"}`
 * when its input is exhausted (`collector.finish()`).
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * builder.setSpout("sentences", new ShellSpout(["node", "randomsentence.js"], ["sentence"]));
 * ```
 */
export class ShellSpout implements ISpout {
  /** The subprocess's command: program, then arguments. */
  readonly command: string[];
  /** Declared outputs (copied to plain arrays). */
  readonly outputFields: string[] | Record<string, string[]> | undefined;
  readonly options: ShellComponentOptions;
  // Not a #private field: instances are copied per task by their own properties.
  protected run: SpoutRun | null = null;
  protected conf: TopologyConfig | null = null;
  protected context: TopologyContext | null = null;

  constructor(command: string[], outputFields?: ShellOutputs, options: ShellComponentOptions = {}) {
    this.command = checkCommand("ShellSpout", command);
    this.outputFields = normalizeOutputs(outputFields);
    this.options = { ...options };
  }

  open(conf: TopologyConfig, context: TopologyContext, collector: SpoutOutputCollector): MaybePromise {
    this.conf = conf;
    this.context = context;
    const run = new SpoutRun(collector as EngineCollector);
    this.run = run;
    return startShell("spout", this.command, this.options, conf, context, {
      collector: run.collector,
      onMessage: (msg, proc) => this.onShellMessage(run, msg, proc),
      onFault: (e) => this.onShellFault(run, e),
      everySecond: (proc) => this.checkSync(run, proc),
    }).then((shell) => {
      if (this.run === run) run.shell = shell;
      else void stopShell(shell);
    });
  }

  /** Sends `next`; settles when the subprocess has synced every command sent so far. */
  nextTuple(): MaybePromise {
    const run = this.run!;
    this.sendCommand(run, { command: "next" });
    return new Promise((resolve, reject) => (run.waiter = { resolve, reject }));
  }

  /** Sends `ack` (its sync is awaited by the next `nextTuple`). */
  ack(msgId: unknown): MaybePromise {
    this.sendCompletion(msgId, "ack");
  }

  /** Sends `fail` (its sync is awaited by the next `nextTuple`). */
  fail(msgId: unknown): MaybePromise {
    this.sendCompletion(msgId, "fail");
  }

  activate(): MaybePromise {
    const run = this.run;
    if (run?.shell) this.sendCommand(run, { command: "activate" });
  }

  deactivate(): MaybePromise {
    const run = this.run;
    if (run?.shell) this.sendCommand(run, { command: "deactivate" });
  }

  /** Stops the subprocess (SIGTERM, then SIGKILL after a grace). */
  close(): MaybePromise {
    const run = this.run;
    this.run = null;
    if (run === null) return;
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
   * metrics of your own (registered in `open`).
   */
  protected updateMetric(name: string, params: unknown): void {
    countMetric(this.context!, name, params);
  }

  /** Always refused: a subprocess cannot rewind to a checkpoint. */
  [EFFECTIVELY_ONCE_REFUSAL](): string | null {
    return `its subprocess (\`${this.command.join(" ")}\`) cannot rewind to a checkpoint, ` +
      "so its tuples could be lost or doubled on a rollback; use ATLEAST_ONCE, or a stateful spout";
  }

  private sendCompletion(msgId: unknown, command: "ack" | "fail"): void {
    const run = this.run;
    if (run === null || run.shell === null) return;
    // Trees of an earlier subprocess (before a restart) are not this one's to hear of.
    const n = run.ids.get(msgId);
    if (n === undefined) return;
    if (n === 1) run.ids.delete(msgId);
    else run.ids.set(msgId, n - 1);
    this.sendCommand(run, { command, id: msgId });
  }

  private sendCommand(run: SpoutRun, msg: Record<string, unknown>): void {
    if (run.owed++ === 0) run.owedSince = performance.now();
    run.shell!.proc.send(msg);
  }

  private onShellMessage(run: SpoutRun, msg: Record<string, unknown> | unknown[], proc: ShellProcess): void {
    if (this.run !== run) return;
    if (Array.isArray(msg)) {
      throw proc.protocolError(`sent an array where a command was expected: ${JSON.stringify(msg)}`);
    }
    switch (msg.command) {
      case "sync": {
        if (run.owed === 0) throw proc.protocolError("sent a sync that answers no command");
        if (--run.owed > 0) {
          run.owedSince = performance.now();
          return;
        }
        run.owedSince = 0;
        const w = run.waiter;
        run.waiter = null;
        w?.resolve();
        return;
      }
      case "emit":
        return this.shellEmit(run, proc, msg);
      case "finish":
        run.collector.finish();
        return;
      default:
        if (!sharedCommand(msg, run.collector, this.conf!, proc, (name, params) => this.updateMetric(name, params))) {
          throw proc.protocolError(`sent an unknown command: ${JSON.stringify(msg).slice(0, 200)}`);
        }
    }
  }

  private shellEmit(run: SpoutRun, proc: ShellProcess, msg: Record<string, unknown>): void {
    const tuple = msg.tuple;
    if (!Array.isArray(tuple)) {
      throw proc.protocolError(`sent an emit without a "tuple" array: ${JSON.stringify(msg).slice(0, 200)}`);
    }
    const stream = typeof msg.stream === "string" ? msg.stream : DEFAULT_STREAM;
    const id = msg.id ?? undefined;
    if (id !== undefined) run.ids.set(id, (run.ids.get(id) ?? 0) + 1);
    const c = run.collector;
    if (typeof msg.task === "number") {
      c.emitDirect(msg.task, stream, tuple, id);
      return;
    }
    if (msg.need_task_ids === false) {
      c.emit(stream, tuple, id);
      return;
    }
    const tasks = c[EMIT_TASKS] !== undefined ? c[EMIT_TASKS](stream, tuple, id) : (c.emit(stream, tuple, id), []);
    proc.send(tasks);
  }

  private checkSync(run: SpoutRun, proc: ShellProcess): void {
    if (this.run !== run || run.owed === 0) return;
    const timeoutMs = (this.conf!["topology.subprocess.timeout.secs"] ?? 30) * 1000;
    if (performance.now() - run.owedSince > timeoutMs) proc.timedOut("did not sync");
  }

  /** The subprocess failed: the task's instance crashes (its pending trees fail) and is restarted. */
  private onShellFault(run: SpoutRun, error: MultilangError): void {
    if (this.run !== run) return;
    const w = run.waiter;
    run.waiter = null;
    if (w !== null) w.reject(error);
    else run.collector[CRASH_TASK]?.(error, "nextTuple");
  }
}
