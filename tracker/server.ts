/**
 * Puts a {@link Tracker} on an HTTP port with the web page: ui/ from this
 * package, and the graph-layout and chart libraries served as they ship in
 * node_modules (no build step).
 *
 * @module
 */
import { ardeaRoot, fileExists, type HttpServer, readTextFile, resolvePath, serveHttp } from "../runtime/mod.ts";
import type { Tracker } from "./tracker.ts";

/** URL path → [package or null for this one, file in it, content type]. */
const ASSETS: Readonly<Record<string, readonly [string | null, string, string]>> = {
  "/": [null, "ui/index.html", "text/html; charset=utf-8"],
  "/index.html": [null, "ui/index.html", "text/html; charset=utf-8"],
  "/ui/app.js": [null, "ui/app.js", "text/javascript; charset=utf-8"],
  "/ui/style.css": [null, "ui/style.css", "text/css; charset=utf-8"],
  "/vendor/dagre.min.js": ["@dagrejs/dagre", "dist/dagre.min.js", "text/javascript; charset=utf-8"],
  "/vendor/uPlot.iife.min.js": ["uplot", "dist/uPlot.iife.min.js", "text/javascript; charset=utf-8"],
  "/vendor/uPlot.min.css": ["uplot", "dist/uPlot.min.css", "text/css; charset=utf-8"],
};

/** Finds `pkg/file` in node_modules of the Ardea root or of a folder above it (a hoisted install). */
async function findPackageFile(pkg: string, file: string): Promise<string | null> {
  let dir = ardeaRoot();
  for (let i = 0; i < 8; i++) {
    const path = resolvePath(dir, "node_modules", pkg, file);
    if (await fileExists(path)) return path;
    const up = resolvePath(dir, "..");
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/**
 * Serves the web page's files from memory after the first read.
 *
 * @example
 * ```ts
 * import { Tracker } from "./tracker.ts";
 * const tracker = new Tracker({ assets: uiAssets() });
 * ```
 */
export function uiAssets(): (path: string) => Promise<Response | null> {
  const cache = new Map<string, string>();
  return async (path) => {
    const entry = ASSETS[path];
    if (entry === undefined) return null;
    const [pkg, file, type] = entry;
    let body = cache.get(path);
    if (body === undefined) {
      const full = pkg === null ? resolvePath(ardeaRoot(), file) : await findPackageFile(pkg, file);
      if (full === null || !(await fileExists(full))) {
        return new Response(`${pkg ?? "ardea"}/${file} is missing; run npm install\n`, {
          status: 500,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      body = await readTextFile(full);
      cache.set(path, body);
    }
    return new Response(body, { headers: { "content-type": type, "cache-control": "no-cache" } });
  };
}

/** Options of {@link serveTracker}. */
export interface ServeTrackerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 8889; 0 picks a free one). */
  port?: number;
}

/** A tracker on a port. */
export interface TrackerServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Largest request body the tracker accepts (bytes): nothing it serves takes
 * one, so a larger one is refused (413) before anything is read.
 */
const MAX_BODY_BYTES = 16 * 1024;

/** The port `ardea run --ui` listens on unless told otherwise (Heron UI's). */
export const DEFAULT_UI_PORT = 8889;

/**
 * Listens with `tracker` on `hostname:port` and starts its sampling;
 * `close()` stops both.
 *
 * @example
 * ```ts
 * import { Tracker } from "./tracker.ts";
 * const tracker = new Tracker({ assets: uiAssets() });
 * const server = await serveTracker(tracker, { port: 0 });
 * console.log(server.url); // http://127.0.0.1:41234/
 * ```
 */
export async function serveTracker(tracker: Tracker, opts: ServeTrackerOptions = {}): Promise<TrackerServer> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const server: HttpServer = await serveHttp({
    hostname,
    port: opts.port ?? DEFAULT_UI_PORT,
    handler: tracker.handle,
    maxBodyBytes: MAX_BODY_BYTES,
  });
  tracker.start();
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  return {
    url: `http://${shown}:${server.port}/`,
    port: server.port,
    close: async () => {
      tracker.stop();
      await server.close();
    },
  };
}
