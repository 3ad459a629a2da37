/**
 * The `--out` file of the trending application: one JSON line per window,
 * in window order, each window once, even across a crash and a resume.
 *
 * Windows come in order of their end, so the file's last line says which
 * windows it already holds: a resumed run opens the file as it is (a line
 * cut short by the crash is dropped), and skips every window that ends no
 * later than its last line. Together with the report bolt's two-phase
 * writes (a window is written only once a checkpoint holding it commits,
 * and stays in the state until written), the file ends with every window
 * exactly once.
 *
 * @module
 */
import { appendTextFile, fileExists, readTextFile, writeTextFile } from "../../../runtime/mod.ts";
import type { WindowRanking } from "./model.ts";

/** A JSON-lines file of window rankings, appended in window order, never twice. */
export class WindowsFile {
  #chain: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  /** End of the last window in the file (or queued for it). */
  lastEnd = -Infinity;
  /** Windows written (this run). */
  count = 0;

  private constructor(readonly path: string) {}

  /**
   * Opens `path`: empties it, or with `resume` keeps the whole lines it
   * has and continues after its last window.
   */
  static async open(path: string, resume: boolean): Promise<WindowsFile> {
    const f = new WindowsFile(path);
    if (!resume || !(await fileExists(path))) {
      await writeTextFile(path, "");
      return f;
    }
    let text = await readTextFile(path);
    const cut = text.lastIndexOf("\n") + 1;
    if (cut < text.length) {
      text = text.slice(0, cut);
      await writeTextFile(path, text);
    }
    const lines = text.split("\n").filter((l) => l !== "");
    if (lines.length > 0) f.lastEnd = (JSON.parse(lines.at(-1)!) as WindowRanking).end;
    return f;
  }

  /** Appends `windows` (those after the file's last one); resolves once they are in the file. */
  write(windows: readonly WindowRanking[]): Promise<void> {
    let text = "";
    for (const w of windows) {
      if (w.end <= this.lastEnd) continue;
      this.lastEnd = w.end;
      this.count++;
      text += JSON.stringify(w) + "\n";
    }
    if (text !== "") this.#chain = this.#chain.then(() => appendTextFile(this.path, text));
    const written = this.#chain;
    written.catch((e: Error) => (this.#failure ??= e));
    return written;
  }

  /** Waits for every write; throws the first write's failure. */
  async close(): Promise<void> {
    await this.#chain.catch(() => {});
    if (this.#failure !== null) throw new Error(`--out ${this.path}: ${this.#failure.message}`);
  }
}
