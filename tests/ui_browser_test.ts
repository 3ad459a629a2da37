// timeout: 240
// The tracker's web page in headless Chromium (Node only): Debian's
// /usr/bin/chromium driven by playwright-core, against `ardea run --ui`.
// The page loads, the graph shows every component with its groupings, live
// numbers move, deactivate/activate/kill work through their confirmations.
// Leaves a screenshot in tests/artifacts/ui.png.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync } from "node:fs";
import { ardeaRoot, execPath, resolvePath, runtimeName, spawnProcess } from "../runtime/mod.ts";
import { collect } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { sleep, until } from "../testing/wait.ts";

const CHROMIUM = "/usr/bin/chromium";

/** Where to look for the columns of user metrics, process latency and next-tuple count. */
interface NewColumns {
  spout: string;
  bolt: string;
  /** A component with a user counter `counter` in each of its `userTasks` tasks. */
  user: string;
  counter: string;
  userTasks: number;
}

/**
 * The components and tasks tables show user metrics, the process latency's
 * p99 (a bolt that acks) and the spout's next-tuple count; numbers, not dashes.
 */
async function checkNewColumns(
  waitFor: (expr: string, ms: number) => Promise<unknown>,
  page: { evaluate<T>(expr: string): Promise<T> },
  w: NewColumns,
): Promise<void> {
  const headers = await page.evaluate<string[]>(
    `[...document.querySelectorAll("#components-table th")].map((e) => e.textContent)`,
  );
  for (const h of ["process p99 ms", "next-tuple calls", "user metrics"]) {
    assert.ok(headers.includes(h), `components header ${h}: ${headers}`);
  }
  const taskHeaders = await page.evaluate<string[]>(
    `[...document.querySelectorAll("#tasks-table th")].map((e) => e.textContent)`,
  );
  for (const h of ["next-tuple calls", "user metrics"]) {
    assert.ok(taskHeaders.includes(h), `tasks header ${h}: ${taskHeaders}`);
  }
  const comp = (c: string, f: string) =>
    `document.querySelector('#components-table tr[data-component="${c}"] td[data-field="${f}"]')`;
  await waitFor(`new RegExp("^${w.counter}=\\\\d").test(${comp(w.user, "userMetrics")}?.textContent ?? "")`, 15_000);
  await waitFor(`/^\\d+(\\.\\d+)?$/.test(${comp(w.bolt, "processP99")}?.textContent ?? "")`, 15_000);
  await waitFor(`Number(${comp(w.spout, "nextTupleCount")}?.getAttribute("title")) > 0`, 15_000);
  assert.is(await page.evaluate<string>(`${comp(w.bolt, "nextTupleCount")}?.textContent`), "–");
  const perTask = await page.evaluate<string[]>(
    `[...document.querySelectorAll('#tasks-table tbody tr')].filter((tr) => tr.querySelector('td[data-field="component"]')?.textContent === "${w.user}").map((tr) => tr.querySelector('td[data-field="userMetrics"]')?.textContent ?? "")`,
  );
  assert.is(perTask.length, w.userTasks, String(perTask));
  for (const t of perTask) assert.match(t, new RegExp(`^${w.counter}=\\d`));
  const spoutTask = await page.evaluate<string>(
    `[...document.querySelectorAll('#tasks-table tbody tr')].find((tr) => tr.querySelector('td[data-field="component"]')?.textContent === "${w.spout}")?.querySelector('td[data-field="nextTupleCount"]')?.getAttribute("title") ?? ""`,
  );
  assert.ok(Number(spoutTask) > 0, `spout task next-tuple calls: ${spoutTask}`);
}

if (runtimeName() !== "node") {
  console.log(
    "ui_browser_test: skipped on this runtime; playwright-core drives the browser from Node only (npm test runs it under Node)",
  );
  test.skip("the web page in headless Chromium (skipped: playwright-core drives the browser from Node only; run this suite under Node)", () => {});
} else {
  test("the web page shows the graph, live numbers and charts; deactivate, activate and kill work", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`,
      );
    }
    const { chromium } = await import("playwright-core");
    const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
    const child = spawnProcess(execPath(), [bin, "run", "--ui", "--port", "0", "tests/fixtures/ui_topology.ts"], {
      cwd: ardeaRoot(),
      stdio: "pipe",
      env: { ARDEA_DEBUG: "" },
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const reading = Promise.all([collect(child.lines("stdout"), stdout), collect(child.lines("stderr"), stderr)]);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    try {
      await until("the UI line", () => stderr.some((l) => l.startsWith("ardea: UI at ")), 30_000);
      const url = /ardea: UI at (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(stderr.find((l) => l.startsWith("ardea: UI at "))!)
        ?.[1];
      assert.ok(url, stderr.join("\n"));

      const page = await browser.newPage({ viewport: { width: 1400, height: 1050 } });
      // Script exceptions, and console errors (failed loads among them) until the kill ends the server.
      const pageErrors: string[] = [];
      const consoleErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.accept();
      });
      // Page-side expressions are strings: they run in the browser, and this file is type-checked without the DOM lib.
      const waitFor = (expr: string, ms: number) => page.waitForFunction(expr, undefined, { timeout: ms });
      await page.goto(url!);

      // The topology list and the graph: every component, every edge with its grouping.
      await page.waitForSelector('#topology-list li[data-topology="ui-demo"]', { timeout: 15_000 });
      await waitFor(`document.querySelectorAll("#graph .node").length === 3`, 15_000);
      const nodes = await page.evaluate<string[]>(
        `[...document.querySelectorAll("#graph .node")].map((e) => e.dataset.component).sort()`,
      );
      assert.equal(nodes, ["count", "sentences", "split"]);
      const spoutClass = await page.getAttribute('#graph .node[data-component="sentences"]', "class");
      assert.match(spoutClass ?? "", /spout/);
      const edges = await page.evaluate<string[]>(
        `[...document.querySelectorAll("#graph .edge")].map((e) => e.getAttribute("data-from") + "->" + e.getAttribute("data-to") + ": " + e.textContent).sort()`,
      );
      assert.equal(edges, ["sentences->split: shuffle", "split->count: fields(word)"]);
      await waitFor(`document.querySelector("#topology-state")?.textContent === "RUNNING"`, 10_000);

      // Live numbers move: the spout's emitted count in the table grows between polls.
      const emitted = () =>
        page.getAttribute('#components-table tr[data-component="sentences"] td[data-field="emitted"]', "title").then(
          Number,
        );
      await page.waitForSelector('#components-table tr[data-component="sentences"]', { timeout: 15_000 });
      const before = await emitted();
      await waitFor(
        `Number(document.querySelector('#components-table tr[data-component="sentences"] td[data-field="emitted"]')?.getAttribute("title")) > ${before}`,
        15_000,
      );
      assert.ok((await emitted()) > before);
      // The charts are drawn, and the graph's nodes carry a live rate.
      await page.waitForSelector("#chart-throughput canvas", { timeout: 15_000 });
      await page.waitForSelector("#chart-queue canvas", { timeout: 15_000 });
      await waitFor(
        `/\\/s/.test(document.querySelector('#graph .node[data-component="split"] .live')?.textContent ?? "")`,
        15_000,
      );
      // User metrics (per component, per task), process latency and next-tuple count.
      await checkNewColumns(waitFor, page, {
        spout: "sentences",
        bolt: "count",
        user: "split",
        counter: "words",
        userTasks: 2,
      });
      // The counter's errors reach the exceptions panel.
      await waitFor(`/count: \\d+ error/.test(document.querySelector("#exceptions")?.textContent ?? "")`, 20_000);
      // The physical plan: one container, this process.
      await waitFor(
        `document.querySelector('#containers-table tr[data-container="0"] td[data-field="state"]')?.textContent === "RUNNING"`,
        10_000,
      );

      // Deactivate and activate, each after a confirmation.
      await page.click("#btn-deactivate");
      await waitFor(`document.querySelector("#topology-state")?.textContent === "PAUSED"`, 10_000);
      await page.click("#btn-activate");
      await waitFor(`document.querySelector("#topology-state")?.textContent === "RUNNING"`, 10_000);
      assert.is(dialogs.length, 2);
      assert.match(dialogs[0]!, /^Deactivate topology "ui-demo"\?/);

      // A few samples for the charts, then the screenshot.
      await sleep(3000);
      mkdirSync(resolvePath(ardeaRoot(), "tests", "artifacts"), { recursive: true });
      await page.screenshot({ path: resolvePath(ardeaRoot(), "tests", "artifacts", "ui.png"), fullPage: true });

      assert.equal(consoleErrors, []);
      // Kill: confirmed, shown, and `ardea run` ends with the topology KILLED (the page then polls a closed port).
      await page.click("#btn-kill");
      await waitFor(`document.querySelector("#topology-state")?.textContent === "KILLED"`, 15_000);
      assert.match(dialogs[2]!, /^Kill topology "ui-demo"\?/);
      const exit = await child.exited;
      await reading;
      assert.is(exit.code, 0, stderr.join("\n"));
      assert.ok(stdout.includes("ended KILLED"), stdout.join("\n"));
      assert.equal(pageErrors, []);
    } finally {
      await browser.close();
      child.kill("SIGKILL");
    }
  });

  test("the web page against ardea ui --nats: two containers, the graph, a thrown error with its stack, kill", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
    }
    const { chromium } = await import("playwright-core");
    const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
    const nats: NatsHandle = await startNats({ servers: 1, jetstream: true });
    const env = { ARDEA_NATS_URL: nats.urls[0]!, ARDEA_DEBUG: "" };
    const submitter = spawnProcess(execPath(), [
      bin,
      "submit",
      "tests/fixtures/dist_throwing.ts",
      "--containers",
      "2",
      "--wait",
    ], { cwd: ardeaRoot(), stdio: "pipe", env });
    const ui = spawnProcess(execPath(), [bin, "ui", "--port", "0"], { cwd: ardeaRoot(), stdio: "pipe", env });
    const stderr: string[] = [];
    const submitErr: string[] = [];
    const reading = Promise.all([collect(ui.lines("stderr"), stderr), collect(submitter.lines("stderr"), submitErr)]);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    try {
      await until("the UI line", () => stderr.some((l) => l.includes("UI of the topologies")), 30_000);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/)$/.exec(stderr.find((l) => l.includes("UI of the topologies"))!)?.[1];
      assert.ok(url, stderr.join("\n"));
      const page = await browser.newPage({ viewport: { width: 1400, height: 1250 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      page.on("dialog", (d) => void d.accept());
      const waitFor = (expr: string, ms: number) => page.waitForFunction(expr, undefined, { timeout: ms });
      await page.goto(url!);
      await page.waitForSelector('#topology-list li[data-topology="dist-throwing"]', { timeout: 30_000 });
      await waitFor(`document.querySelector("#topology-state")?.textContent === "RUNNING"`, 30_000);
      await waitFor(`document.querySelectorAll("#graph .node").length === 2`, 10_000);
      await waitFor(
        `document.querySelectorAll('#containers-table tbody tr td[data-field="state"]').length === 2 && [...document.querySelectorAll('#containers-table tbody td[data-field="state"]')].every((e) => e.textContent === "RUNNING")`,
        20_000,
      );
      await waitFor(`/flaky: \\d+ error/.test(document.querySelector("#exceptions")?.textContent ?? "")`, 30_000);
      const stack = await page.textContent('#exceptions li[data-component="flaky"] pre');
      assert.match(stack ?? "", /flaky threw at \d+/);
      await waitFor(
        `Number(document.querySelector('#components-table tr[data-component="numbers"] td[data-field="emitted"]')?.getAttribute("title")) > 0`,
        15_000,
      );
      await checkNewColumns(waitFor, page, {
        spout: "numbers",
        bolt: "flaky",
        user: "numbers",
        counter: "sent",
        userTasks: 1,
      });
      await sleep(2000);
      mkdirSync(resolvePath(ardeaRoot(), "tests", "artifacts"), { recursive: true });
      await page.screenshot({
        path: resolvePath(ardeaRoot(), "tests", "artifacts", "ui_distributed.png"),
        fullPage: true,
      });
      await page.click("#btn-kill");
      await waitFor(`document.querySelector("#topology-state")?.textContent === "KILLED"`, 20_000);
      assert.is((await submitter.exited).code, 1, submitErr.join("\n"));
      assert.equal(pageErrors, []);
    } finally {
      await browser.close();
      submitter.kill("SIGKILL");
      ui.kill("SIGKILL");
      await reading.catch(() => {});
      await nats.stop();
    }
  });
}

test.run();
