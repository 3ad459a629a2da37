/**
 * Test harness: real `nats-server` processes on free loopback ports, with
 * JetStream storage in temp folders, alone or as an N-server cluster (routes
 * on loopback). Never a mock (see STYLE.md, nats.js `nst/`).
 *
 * @example
 * ```ts
 * import { startNats } from "./nats_server.ts";
 * const nats = await startNats({ servers: 3 });
 * try {
 *   // connect({ servers: nats.urls }) …
 * } finally {
 *   await nats.stop();
 * }
 * ```
 *
 * @module
 */
import { createServer, type Server } from "node:net";
import { type ChildHandle, env, makeTempDir, removePath, spawnProcess } from "../runtime/mod.ts";

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** Number of servers; more than one forms a cluster. Default 1. */
  servers?: number;
  /** Enable JetStream (`-js -sd <tmpdir>`). Default true. */
  jetstream?: boolean;
  /** Extra command-line arguments given to every server. */
  args?: string[];
  /** How long to wait for the servers to be ready, in ms. Default 20000. */
  readyTimeoutMs?: number;
}

/** One running server of a {@link NatsHandle}. */
export interface NatsServerInfo {
  readonly name: string;
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Route port (clusters only). */
  readonly clusterPort: number | undefined;
  /** HTTP monitoring port on 127.0.0.1. */
  readonly monitorPort: number;
  /** JetStream store folder (removed by stop()). */
  readonly storeDir: string;
  readonly process: ChildHandle;
  /** The server's last log lines, for error messages. */
  readonly log: string[];
}

/** Running servers and how to stop them. */
export interface NatsHandle {
  readonly servers: readonly NatsServerInfo[];
  /** Client URLs of all servers. */
  readonly urls: string[];
  /** Stops one server (for failover tests); its store folder is kept until stop(). */
  stopServer(index: number): Promise<void>;
  /**
   * Stops one server (SIGTERM, or SIGKILL with `kill9`) and starts it again
   * on the same ports with the same JetStream store folder; resolves when it
   * accepts clients again. `downMs`: how long it stays down in between.
   */
  restartServer(index: number, options?: { kill9?: boolean; downMs?: number }): Promise<void>;
  /** Stops every server and removes the temp folders. Safe to call twice. */
  stop(): Promise<void>;
}

const LOG_LINES = 60;
const HOST = "127.0.0.1";

/**
 * Path or name of the nats-server binary (`NATS_SERVER` overrides).
 *
 * @example
 * ```ts
 * import { natsServerBinary } from "./nats_server.ts";
 * console.log(natsServerBinary());
 * ```
 */
export function natsServerBinary(): string {
  return env("NATS_SERVER") ?? "nats-server";
}

/**
 * `count` distinct free TCP ports on 127.0.0.1 (held open together while
 * picking, so they differ from each other).
 *
 * @example
 * ```ts
 * import { freePorts } from "./nats_server.ts";
 * const [client, monitor] = await freePorts(2);
 * ```
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, HOST, () => {
            const address = server.address();
            if (address === null || typeof address === "string") reject(new Error("no port"));
            else resolve(address.port);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

async function fetchJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body: unknown = await response.json();
    return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Healthy, with at least `peers` routes (the other servers that are up). */
async function isReady(server: NatsServerInfo, peers: number): Promise<boolean> {
  const base = `http://${HOST}:${server.monitorPort}`;
  const health = await fetchJson(`${base}/healthz`);
  if (health?.["status"] !== "ok") return false;
  if (peers > 0) {
    const routes = await fetchJson(`${base}/routez`);
    if (typeof routes?.["num_routes"] !== "number" || routes["num_routes"] < peers) return false;
  }
  return true;
}

async function stopProcess(child: ChildHandle): Promise<void> {
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
  try {
    await child.exited;
  } catch {
    // never started: nothing to stop
  } finally {
    clearTimeout(killer);
  }
}

/**
 * Starts `servers` nats-server processes on loopback and waits until they
 * accept clients (and, for a cluster, until every route is up and JetStream
 * is healthy).
 *
 * @example
 * ```ts
 * import { startNats } from "./nats_server.ts";
 * const single = await startNats();
 * console.log(single.urls[0]); // nats://127.0.0.1:<port>
 * await single.stop();
 * ```
 */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsHandle> {
  const size = options.servers ?? 1;
  const jetstream = options.jetstream ?? true;
  const ports = await freePorts(size * 3);
  const clusterName = `ardea-test-${ports[0]}`;
  const clusterPorts = size > 1 ? ports.slice(size * 2) : [];
  const servers: NatsServerInfo[] = [];
  const stopped = new Set<number>();
  let allStopped = false;

  const stopServer = async (index: number, kill9 = false): Promise<void> => {
    const server = servers[index];
    if (server === undefined || stopped.has(index)) return;
    stopped.add(index);
    if (kill9) server.process.kill("SIGKILL");
    await stopProcess(server.process);
  };
  const argsOf: string[][] = [];
  const launch = (i: number, info: Omit<NatsServerInfo, "process" | "log">): void => {
    const log: string[] = [];
    const child = spawnProcess(natsServerBinary(), argsOf[i]!, {
      stdio: "pipe",
      onLine: (line) => {
        log.push(line);
        if (log.length > LOG_LINES) log.shift();
      },
    });
    servers[i] = { ...info, process: child, log };
  };
  const waitReady = async (indexes: Iterable<number>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const waiting = new Set(indexes);
    const exits = [...waiting].map((i) =>
      servers[i]!.process.exited.then(
        (e) => new Error(`nats-server ${i} exited early (code ${e.code}, signal ${e.signal})`),
        (e: Error) => e,
      )
    );
    while (waiting.size > 0) {
      const early = await Promise.race([...exits, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
      if (early !== undefined) throw early;
      const peers = size - stopped.size - 1;
      for (const i of [...waiting]) if (await isReady(servers[i]!, peers)) waiting.delete(i);
      if (waiting.size > 0 && Date.now() > deadline) {
        throw new Error(`nats-server ${[...waiting].join(", ")} not ready after ${timeoutMs} ms`);
      }
    }
  };
  const restartServer = async (index: number, o: { kill9?: boolean; downMs?: number } = {}): Promise<void> => {
    const old = servers[index];
    if (old === undefined || allStopped) throw new Error(`no nats-server ${index} to restart`);
    await stopServer(index, o.kill9 ?? false);
    if ((o.downMs ?? 0) > 0) await new Promise((r) => setTimeout(r, o.downMs));
    stopped.delete(index);
    launch(index, old);
    await waitReady([index], options.readyTimeoutMs ?? 20_000);
  };
  const stop = async (): Promise<void> => {
    if (allStopped) return;
    allStopped = true;
    await Promise.all(servers.map((_, i) => stopServer(i)));
    await Promise.all(servers.map((s) => removePath(s.storeDir)));
  };

  try {
    for (let i = 0; i < size; i++) {
      const port = ports[i]!;
      const monitorPort = ports[size + i]!;
      const clusterPort = clusterPorts[i];
      const name = `${clusterName}-${i}`;
      const storeDir = await makeTempDir("ardea-nats-");
      const args = ["-a", HOST, "-p", String(port), "-m", String(monitorPort), "-n", name];
      if (jetstream) args.push("-js", "-sd", storeDir);
      if (clusterPort !== undefined) {
        const routes = clusterPorts.filter((p) => p !== clusterPort).map((p) => `nats://${HOST}:${p}`);
        args.push("--cluster_name", clusterName, "--cluster", `nats://${HOST}:${clusterPort}`);
        args.push("--routes", routes.join(","));
      }
      args.push(...(options.args ?? []));
      argsOf[i] = args;
      launch(i, { name, url: `nats://${HOST}:${port}`, port, clusterPort, monitorPort, storeDir });
    }
    await waitReady(servers.keys(), options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    const logs = servers.map((s) => `--- ${s.name}\n${s.log.join("\n")}`).join("\n");
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`startNats: ${message}${logs ? `\n${logs}` : ""}`, { cause: error });
  }

  return { servers, urls: servers.map((s) => s.url), stopServer: (i) => stopServer(i), restartServer, stop };
}
