/**
 * The tracker: keeps the topologies of this process, samples their counters
 * into a short history, and answers the REST API (JSON under `/api/v1/`),
 * the Prometheus endpoint (`/metrics`) and, through `assets`, the web page.
 * It is a plain `Request → Response` function; tracker/server.ts puts it on
 * a port. The API is documented in docs/tracker.md.
 *
 * @module
 */
import type { StormTopology } from "../topology/topology.ts";
import { BodyTooLargeError, hostname, pid } from "../runtime/mod.ts";
import { MetricsHistory } from "./history.ts";
import {
  type BackpressureEpisode,
  BackpressureLog,
  type ContainerInfo,
  type ExceptionInfo,
  type PlacedTask,
} from "../metrics/physical.ts";
import { jsonSafe, type LogicalPlan, logicalPlan } from "../metrics/plan.ts";
import { PROMETHEUS_CONTENT_TYPE, renderContainerPrometheus, renderPrometheusSeries } from "./prometheus.ts";
import type { StatsSnapshot } from "../metrics/snapshot.ts";
import { isTerminal, type TopologyState } from "../transport/wire/mod.ts";

/**
 * What the tracker needs of a topology. The engine's `TopologyHandle` (one
 * process) is one; a distributed topology watched over NATS
 * (tracker/remote_topology.ts) is another, and fills the optional members.
 */
export interface TrackedTopology {
  readonly name: string;
  readonly state: TopologyState;
  stats(): StatsSnapshot;
  kill(): Promise<unknown>;
  activate(): void | Promise<unknown>;
  deactivate(): void | Promise<unknown>;
  readonly topology?: StormTopology;
  readonly config?: Readonly<Record<string, unknown>>;
  /** `embedded` (the default) or `distributed`. */
  readonly mode?: "embedded" | "distributed";
  /** The logical plan, when there is no `topology` object to draw it from. */
  plan?(): LogicalPlan | null;
  /** The physical plan (default: one container, this process). */
  containers?(): ContainerInfo[];
  /** Counters of each container, for Prometheus' `container` label (default: all in container "0"). */
  containerStats?(): Array<{ container: string; stats: StatsSnapshot }>;
  /** Exceptions per component (default: from the counters, without stacks). */
  exceptions?(): ExceptionInfo[];
  /** Backpressure episodes (default: what the tracker's sampling saw). */
  backpressureHistory?(): BackpressureEpisode[];
}

/** Options of {@link Tracker}. */
export interface TrackerOptions {
  /** Sampling period of the history (default 1000 ms). */
  sampleMs?: number;
  /** Samples kept per topology (default 120). */
  capacity?: number;
  /** Labels added to every Prometheus series (default `{ container: "0" }`). */
  labels?: Readonly<Record<string, string>>;
  /** Static files (the web page): a response for a GET path, or null. */
  assets?: (path: string) => Promise<Response | null>;
  /**
   * Accept only requests whose Host header names a loopback address
   * (default true): a page elsewhere cannot reach the API by DNS rebinding.
   */
  loopbackOnly?: boolean;
}

/**
 * The header a control request (activate, deactivate, kill) must carry. A
 * form on another site can POST here, but cannot add a header without the
 * browser asking first (a CORS preflight, which this tracker never grants).
 */
const CONTROL_HEADER = "x-ardea-control";

/** Largest body a control request may carry (it needs none); more is refused (413) unread. */
const CONTROL_BODY_BYTES = 1024;

const ACTIONS = ["activate", "deactivate", "kill"] as const;
type Action = typeof ACTIONS[number];

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(body)}\n`, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

function problem(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message } }, status, headers);
}

/**
 * Whether the interface `host` a tracker listens on is a loopback one (then
 * it also refuses requests naming another Host).
 *
 * @example
 * ```ts
 * isLoopbackInterface("127.0.0.1"); // true
 * isLoopbackInterface("0.0.0.0"); // false: reachable from other machines
 * ```
 */
export function isLoopbackInterface(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function isLoopbackHost(hostHeader: string): boolean {
  const host = hostHeader.startsWith("[")
    ? hostHeader.slice(0, hostHeader.indexOf("]") + 1)
    : hostHeader.replace(/:\d+$/, "");
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Tracks topologies and answers the tracker's HTTP API.
 *
 * @example
 * ```ts
 * import { onSubmit } from "ardea";
 * const tracker = new Tracker();
 * onSubmit((h) => tracker.add(h));
 * tracker.start();
 * const res = await tracker.handle(new Request("http://127.0.0.1/api/v1/topologies"));
 * ```
 */
export class Tracker {
  readonly history: MetricsHistory;
  readonly #opts: TrackerOptions;
  readonly #topologies = new Map<string, TrackedTopology>();
  readonly #finalSampled = new Set<string>();
  /** Backpressure seen by sampling, for topologies that keep no history of their own. */
  readonly #pressure = new Map<string, BackpressureLog>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: TrackerOptions = {}) {
    this.#opts = opts;
    this.history = new MetricsHistory(opts.capacity ?? 120);
  }

  /** Starts tracking `t` (a later one of the same name replaces it). */
  add(t: TrackedTopology): void {
    this.#topologies.set(t.name, t);
    this.#finalSampled.delete(t.name);
    this.#pressure.delete(t.name);
    this.history.forget(t.name);
    this.history.record(t.stats());
  }

  /** Stops tracking topology `name` (a distributed one that was deleted); false if unknown. */
  remove(name: string): boolean {
    this.history.forget(name);
    this.#finalSampled.delete(name);
    this.#pressure.delete(name);
    return this.#topologies.delete(name);
  }

  /** The tracked topology `name`, if any. */
  get(name: string): TrackedTopology | undefined {
    return this.#topologies.get(name);
  }

  /** The tracked topologies, in the order they were added. */
  list(): TrackedTopology[] {
    return [...this.#topologies.values()];
  }

  /** Takes one sample of every running topology (and a last one of each that ended). */
  sample(at: number = Date.now()): void {
    for (const t of this.#topologies.values()) {
      const live = !isTerminal(t.state);
      if (!live && this.#finalSampled.has(t.name)) continue;
      const s = t.stats();
      this.history.record(s, at);
      if (t.backpressureHistory === undefined) this.#samplePressure(t.name, s, at);
      if (!live) this.#finalSampled.add(t.name);
    }
  }

  /** Notes backpressure raised or lowered since the last sample (blamed on the fullest bolt). */
  #samplePressure(name: string, s: StatsSnapshot, at: number): void {
    let log = this.#pressure.get(name);
    if (log === undefined) this.#pressure.set(name, log = new BackpressureLog());
    if (s.backpressure && !log.active) {
      let by = "", most = 0;
      for (const [c, x] of Object.entries(s.components)) {
        if (x.kind === "bolt" && x.queued > most) [by, most] = [c, x.queued];
      }
      log.on(0, by, at);
    } else if (!s.backpressure && log.active) log.off(0, at);
  }

  /** Samples every `sampleMs` until {@link Tracker.stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sample(), this.#opts.sampleMs ?? 1000);
  }

  /** Stops sampling. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Answers one HTTP request. */
  handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const hostHeader = request.headers.get("host") ?? url.host;
    if ((this.#opts.loopbackOnly ?? true) && !isLoopbackHost(hostHeader)) {
      return problem(
        403,
        "FORBIDDEN_HOST",
        `host "${hostHeader}" is not a loopback address; start the UI with --host to serve other names`,
      );
    }
    const path = url.pathname;
    if (path === "/metrics") {
      if (request.method !== "GET" && request.method !== "HEAD") return this.#notAllowed("GET");
      const labels = this.#opts.labels ?? { container: "0" };
      const entries = this.list().flatMap((t) =>
        t.containerStats === undefined
          ? [{ stats: t.stats(), labels }]
          : t.containerStats().map((c) => ({ stats: c.stats, labels: { ...labels, container: c.container } }))
      );
      const containers = this.list().flatMap((
        t,
      ) => (t.containers === undefined ? [] : [{ topology: t.name, containers: t.containers() }]));
      const body = renderPrometheusSeries(entries) + renderContainerPrometheus(containers);
      return new Response(body, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" } });
    }
    if (path === "/api/v1" || path.startsWith("/api/v1/")) {
      return await this.#api(request, path.slice("/api/v1".length), hostHeader);
    }
    if (path.startsWith("/api/")) return problem(404, "NOT_FOUND", `no API at ${path}; this tracker serves /api/v1/`);
    if ((request.method === "GET" || request.method === "HEAD") && this.#opts.assets !== undefined) {
      const asset = await this.#opts.assets(path);
      if (asset !== null) return asset;
    }
    return problem(404, "NOT_FOUND", `nothing at ${path}`);
  };

  #notAllowed(allow: string): Response {
    return problem(405, "METHOD_NOT_ALLOWED", `use ${allow}`, { allow });
  }

  async #api(request: Request, rest: string, hostHeader: string): Promise<Response> {
    let parts: string[];
    try {
      parts = rest.split("/").filter((p) => p !== "").map((p) => decodeURIComponent(p));
    } catch {
      return problem(400, "BAD_REQUEST", "malformed percent-encoding in the path");
    }
    if (parts.length === 0) {
      return json({
        version: "v1",
        endpoints: [
          "/api/v1/topologies",
          "/api/v1/topologies/:name",
          "/api/v1/topologies/:name/metrics",
          "/api/v1/topologies/:name/containers",
          "/api/v1/topologies/:name/exceptions",
          "/api/v1/topologies/:name/backpressure",
          "/metrics",
        ],
      });
    }
    if (parts[0] !== "topologies" || parts.length > 3) return problem(404, "NOT_FOUND", `no API at /api/v1${rest}`);
    if (parts.length === 1) {
      if (request.method !== "GET") return this.#notAllowed("GET");
      return json({ topologies: this.list().map((t) => this.#summary(t)) });
    }
    const name = parts[1]!;
    const t = this.#topologies.get(name);
    if (t === undefined) return problem(404, "UNKNOWN_TOPOLOGY", `no topology "${name}" is tracked here`);
    const what = parts[2];
    if ((ACTIONS as readonly string[]).includes(what ?? "")) {
      if (request.method !== "POST") return this.#notAllowed("POST");
      const refused = this.#refuseControl(request, what!, hostHeader);
      if (refused !== null) return refused;
      const body = await this.#refuseBody(request);
      if (body !== null) return body;
      return await this.#act(t, what as Action);
    }
    if (request.method !== "GET") return this.#notAllowed("GET");
    if (what === undefined) return json(this.#detail(t));
    if (what === "metrics") return json(this.#metrics(t));
    if (what === "exceptions") return json(this.#exceptions(t));
    if (what === "containers") return json({ name: t.name, containers: this.#containers(t) });
    if (what === "backpressure") return json(this.#backpressure(t));
    return problem(404, "NOT_FOUND", `no API at /api/v1${rest}`);
  }

  /**
   * Why a control request cannot be from this tracker's own page (null if it
   * can): an `Origin` of another site, or the opaque `null` of a sandboxed
   * frame or a redirect; no {@link CONTROL_HEADER}, which a plain form
   * cannot send.
   */
  #refuseControl(request: Request, what: string, hostHeader: string): Response | null {
    const origin = request.headers.get("origin");
    if (origin !== null) {
      if (origin === "null") return problem(403, "CROSS_ORIGIN", `a ${what} from an opaque origin (null) is refused`);
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        return problem(400, "BAD_REQUEST", "malformed Origin header");
      }
      if (host !== hostHeader) {
        return problem(403, "CROSS_ORIGIN", `a ${what} from another origin (${origin}) is refused`);
      }
    }
    if (request.headers.get(CONTROL_HEADER) === null) {
      return problem(
        403,
        "CONTROL_HEADER_MISSING",
        `a ${what} needs the header "X-Ardea-Control: 1" (a cross-site form cannot send it)`,
      );
    }
    return null;
  }

  /** A control request takes no body: more than {@link CONTROL_BODY_BYTES} is refused (413) and not read further. */
  async #refuseBody(request: Request): Promise<Response | null> {
    const tooLarge = () =>
      problem(413, "BODY_TOO_LARGE", `a control request takes no body (at most ${CONTROL_BODY_BYTES} bytes)`, {
        connection: "close",
      });
    const declared = request.headers.get("content-length");
    if (declared !== null && !(Number(declared) <= CONTROL_BODY_BYTES)) return tooLarge();
    if (request.body === null) return null;
    const reader = request.body.getReader();
    let seen = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        seen += value.byteLength;
        if (seen > CONTROL_BODY_BYTES) {
          void reader.cancel().catch(() => {});
          return tooLarge();
        }
      }
    } catch (e) {
      // The server's own bound (runtime/http.ts), or a client that went away.
      return e instanceof BodyTooLargeError
        ? tooLarge()
        : problem(400, "BAD_REQUEST", "the request body could not be read");
    }
  }

  #summary(t: TrackedTopology) {
    const s = t.stats();
    const comps = Object.values(s.components);
    return {
      name: t.name,
      state: s.state,
      uptimeMs: Math.round(s.uptimeMs),
      components: comps.length,
      tasks: comps.reduce((n, c) => n + c.tasks, 0),
      emitted: s.emitted,
      acked: s.acked,
      failed: s.failed,
      pending: s.pending,
      restarts: s.restarts,
      backpressure: s.backpressure,
    };
  }

  #detail(t: TrackedTopology) {
    const s = t.stats();
    return {
      name: t.name,
      state: s.state,
      uptimeMs: Math.round(s.uptimeMs),
      mode: t.mode ?? "embedded",
      config: t.config === undefined ? null : jsonSafe(t.config),
      plan: t.plan !== undefined ? t.plan() : t.topology === undefined ? null : logicalPlan(t.topology),
      packing: t.containers !== undefined
        ? { containers: t.containers().map((c) => ({ id: c.id, tasks: c.tasks.map((x) => x.id) })) }
        : t.topology === undefined
        ? null
        : { containers: [{ id: 0, tasks: [...t.topology.taskToComponent.keys()].sort((a, b) => a - b) }] },
    };
  }

  /** The physical plan; embedded: this process is container 0. */
  #containers(t: TrackedTopology): ContainerInfo[] {
    if (t.containers !== undefined) return t.containers();
    const s = t.stats();
    const tasks: PlacedTask[] = Object.entries(s.tasks ?? {}).map(([id, x]) => ({
      id: Number(id),
      component: x.component,
      kind: x.kind,
    }));
    if (tasks.length === 0 && t.topology !== undefined) {
      for (const [id, component] of t.topology.taskToComponent) {
        tasks.push({ id, component, kind: t.topology.components.get(component)?.kind ?? null });
      }
    }
    tasks.sort((a, b) => a.id - b.id);
    const mailboxes: Record<string, number> = {};
    for (const [id, x] of Object.entries(s.tasks ?? {})) if (x.kind === "bolt") mailboxes[id] = x.queued;
    const log = this.#pressure.get(t.name);
    return [{
      id: 0,
      host: hostname(),
      pid: pid(),
      state: s.state,
      startedAt: Math.round(Date.now() - s.uptimeMs),
      reportAgeMs: 0,
      restarts: 0,
      tasks,
      backpressure: s.backpressure,
      backpressureBy: s.backpressure ? (log?.episodes().at(-1)?.component ?? "") : "",
      backpressureMs: Math.round(s.backpressureMs),
      mailboxes,
      dropped: 0,
      framesIn: 0,
      framesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
    }];
  }

  #backpressure(t: TrackedTopology) {
    const s = t.stats();
    const episodes = t.backpressureHistory !== undefined
      ? t.backpressureHistory()
      : (this.#pressure.get(t.name)?.episodes() ?? []);
    return {
      name: t.name,
      active: s.backpressure,
      episodes: s.backpressureEpisodes,
      timeMs: Math.round(s.backpressureMs),
      history: episodes,
    };
  }

  #metrics(t: TrackedTopology) {
    const s = t.stats();
    const { components, tasks, ...totals } = s;
    return {
      name: t.name,
      at: Date.now(),
      sampleMs: this.#opts.sampleMs ?? 1000,
      topology: totals,
      components,
      tasks: tasks ?? {},
      series: this.history.series(t.name) ?? { t: [], components: {} },
    };
  }

  #exceptions(t: TrackedTopology) {
    if (t.exceptions !== undefined) return { name: t.name, exceptions: t.exceptions() };
    const s = t.stats();
    return {
      name: t.name,
      exceptions: Object.entries(s.components).map(([component, c]): ExceptionInfo => ({
        component,
        count: c.errors,
        restarts: c.restarts,
        lastError: c.lastError,
        lastErrorAt: (c as { lastErrorAt?: number | null }).lastErrorAt ?? null,
        stack: null,
        container: c.lastError === null ? null : 0,
      })),
    };
  }

  async #act(t: TrackedTopology, action: Action): Promise<Response> {
    if (isTerminal(t.state)) return problem(409, "ENDED", `topology "${t.name}" has ended (${t.state})`);
    try {
      if (action === "activate") await t.activate();
      else if (action === "deactivate") await t.deactivate();
      else await t.kill();
    } catch (e) {
      // Embedded: a run that failed while being killed; its state says so.
      if (action === "kill" && (t.mode ?? "embedded") === "embedded") {
        return json({ name: t.name, action, state: t.state });
      }
      const code = typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "ACTION_FAILED";
      return problem(
        code === "ENDED" ? 409 : 502,
        code,
        `${action} of "${t.name}" failed: ${(e as Error).message ?? String(e)}`,
      );
    }
    return json({ name: t.name, action, state: t.state });
  }
}
