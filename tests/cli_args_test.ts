// The command tables (cli/commands.ts): parsing, validation, help and
// errors all come from them. In process; the `ardea` binary end to end is
// tests/cli_test.ts.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { parseArgs, UsageError } from "../cli/args.ts";
import { type CommandSpec, defineCommand, integer, parseCommand, takesFlags } from "../cli/command_table.ts";
import { COMMANDS, commandSpec, NATS_OPTIONS } from "../cli/commands.ts";
import { helpText, specHelp, specUsage, usageLine } from "../cli/help.ts";
import { argTokens } from "../runtime/mod.ts";
import { NATS_FLAGS, type NatsFlagName, parseNatsFlags } from "../transport/nats_connect.ts";

const specs = COMMANDS.map((c) => commandSpec(c));
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The usage error `parseArgs(argv)` throws (fails the test when it does not). */
function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  assert.unreachable(`${argv.join(" ")} was accepted`);
  throw new Error("unreachable");
}

/** Words that fill each placeholder and positional label of the usage lines. */
const SAMPLES: Readonly<Record<string, string>> = {
  "<topology>": "wc",
  "<topology.ts>": "x.ts",
  "<folder>": "dir",
  "<component>[:stream]": "split:words",
  container: "1",
  command: "kill",
  N: "2",
  R: "2",
  K: "2",
  I: "1",
  P: "0",
  H: "::1",
  ID: "w-1",
  SPEC: "file:a.tgz",
  "name:N[,name:N…]": "split:3",
};
/** A usage word as a command-line word: brackets off, placeholders filled in. */
function sample(word: string): string {
  const bare = word.replace(/^\[+/, "").replace(/\]+$/, "");
  return SAMPLES[word] ?? SAMPLES[bare] ?? (bare.includes("|") ? bare.split("|").at(-1)! : bare);
}

/** The argv each form of a usage line stands for (NATS flags and script arguments left out). */
function usageArgv(usage: string): string[][] {
  return usage.slice("usage: ".length).split(" | ").map((form) => {
    const words = form.replace(" [NATS flags]", "").replace(/ \[--\] \[script args…\]| \[-- script args…\]/, "").split(
      " ",
    );
    return [words[1]!, ...words.slice(2).map(sample)];
  });
}

/** Whether `value` is somewhere in `obj` (deep). */
function holds(obj: unknown, value: unknown): boolean {
  if (JSON.stringify(obj) === JSON.stringify(value)) return true;
  return typeof obj === "object" && obj !== null && Object.values(obj).some((v) => holds(v, value));
}

test("each command's help page and usage line come from its table", () => {
  for (const spec of specs) {
    const page = helpText(spec.name);
    const usage = usageLine(spec.name);
    assert.ok(page.startsWith(`ardea ${spec.name} — ${spec.title}\n\nUsage:\n  ardea ${spec.name}`), spec.name);
    assert.ok(usage.startsWith(`usage: ardea ${spec.name}`), usage);
    for (const [name, flag] of Object.entries(spec.flags)) {
      const left = `${flag.short === undefined ? "    " : `-${flag.short}, `}--${name}${
        flag.type === "string" ? ` ${flag.value}` : ""
      }`;
      const firstWords = flag.help.split(" ").slice(0, 3).join(" ");
      assert.match(page, new RegExp(`^  ${escape(left)}\\s+${escape(firstWords)}`, "m"), `${spec.name} --${name}`);
      const token = `--${name}${flag.type === "string" ? ` ${flag.value}` : ""}`;
      const bare = (flag.type === "string" && flag.required === true) ||
        (flag.type === "boolean" && flag.insteadOf !== undefined);
      assert.ok(usage.includes(bare ? ` ${token}` : `[${token}`), `${usage} shows ${token}`);
      if (flag.type === "string" && flag.default !== undefined) {
        assert.ok(flag.help.includes(String(flag.default)), `--${name}'s help names its default ${flag.default}`);
      }
    }
    for (const p of Object.values(spec.positionals)) {
      assert.ok(usage.includes(` ${p.label}`), `${usage} shows ${p.label}`);
    }
    assert.is(page.includes("NATS flags"), spec.nats === true, spec.name);
    assert.is(usage.includes("[NATS flags]"), spec.nats === true, spec.name);
    assert.is(/^ {2}-h, --help {3,}show this help$/m.test(page), takesFlags(spec), spec.name);
    const about = typeof spec.about === "function" ? spec.about() : spec.about;
    for (const prose of [about, spec.exit]) if (prose !== undefined) assert.ok(page.includes(prose), spec.name);
  }
  const overview = helpText();
  for (const spec of specs.filter((s) => s.internal !== true)) {
    assert.match(overview, new RegExp(`^  ${escape(spec.name)}\\b.* {2}${escape(spec.summary)}$`, "m"));
  }
  assert.match(overview, /^ {2}master, container +internal: started by submit's scheduler$/m);
  assert.match(helpText("help"), /^Commands: run, init, .*, ui, help\.$/m);
});

test("a flag added to a table is parsed, validated, documented and named in its errors", () => {
  const logs = commandSpec("logs");
  const since = {
    type: "string",
    value: "S",
    parse: integer({ min: 0 }),
    help: "only lines newer than S seconds",
  } as const;
  const spec = defineCommand({
    ...logs,
    flags: { ...logs.flags, since },
    build: (w) => ({ ...(logs.build(w) as object), since: w.flags.since }),
  }) as unknown as CommandSpec;
  assert.equal(parseCommand(spec, ["wc", "--since", "5"]), {
    type: "logs",
    topology: "wc",
    lines: 100,
    since: 5,
    nats: {},
  });
  assert.equal(parseCommand(spec, ["wc", "--since=5"]), parseCommand(spec, ["wc", "--since", "5"]));
  assert.equal(parseCommand(spec, ["wc"]), { type: "logs", topology: "wc", lines: 100, nats: {} });
  assert.throws(
    () => parseCommand(spec, ["wc", "--since", "soon"]),
    (e: Error) => e.message === '--since expects an integer >= 0, got "soon"',
  );
  assert.throws(
    () => parseCommand(spec, ["wc", "--since"]),
    (e: Error) => e.message === 'flag "--since" needs a value',
  );
  assert.match(specHelp(spec), /^ {6}--since S {3,}only lines newer than S seconds$/m);
  assert.is(specUsage(spec), "usage: ardea logs <topology> [container] [--lines N] [--since S] [NATS flags]");
  // The real table does not know it.
  assert.is(usageError(["logs", "wc", "--since", "5"]).message, 'unknown flag "--since" for "ardea logs"');
});

test("every form of every usage line parses, and puts each flag's value in the command (--f V and --f=V alike)", () => {
  for (const spec of specs) {
    const seen = new Set<string>();
    for (const argv of usageArgv(usageLine(spec.name))) {
      const command = parseArgs(argv) as { type: string };
      assert.is(command.type, spec.name, argv.join(" "));
      for (const [name, flag] of Object.entries(spec.flags)) {
        const at = argv.indexOf(`--${name}`);
        if (at < 0) continue;
        seen.add(name);
        if (flag.type === "boolean") continue;
        const value = flag.parse(`--${name}`).parse(argv[at + 1]!);
        assert.ok(
          holds(command, value),
          `${argv.join(" ")}: --${name} ${argv[at + 1]} → ${JSON.stringify(value)} in ${JSON.stringify(command)}`,
        );
        const joined = [...argv.slice(0, at), `--${name}=${argv[at + 1]}`, ...argv.slice(at + 2)];
        assert.equal(parseArgs(joined), command, joined.join(" "));
      }
    }
    assert.equal([...seen].sort(), Object.keys(spec.flags).sort(), `${spec.name}: every flag is in a usage form`);
  }
});

test("an unknown flag is named, with the command", () => {
  for (const spec of specs.filter(takesFlags)) {
    const [argv] = usageArgv(usageLine(spec.name));
    for (const bogus of ["--bogus", "--bogus=1", "-x"]) {
      const e = usageError([...argv!.slice(0, 1), bogus, ...argv!.slice(1)]);
      assert.is(e.message, `unknown flag "${bogus.split("=")[0]}" for "ardea ${spec.name}"`);
      assert.is(e.command, spec.name);
    }
  }
  assert.is(usageError(["run", "-qj", "x.ts"]).message, 'unknown flag "-qj" for "ardea run"');
  assert.is(usageError(["status", "wc", "--json=1"]).message, 'flag "--json" takes no value');
  assert.is(usageError(["kill", "wc", "--wait-secs", "--nats", "x"]).message, 'flag "--wait-secs" needs a value');
  assert.is(usageError(["--fast"]).message, 'unknown flag "--fast"');
});

test("a bad value is named with its flag and the value", () => {
  for (const spec of specs) {
    const [argv] = usageArgv(usageLine(spec.name));
    for (const [name, flag] of Object.entries(spec.flags)) {
      if (flag.type === "boolean") continue;
      const bad = flag.parse(`--${name}`).safeParse("x!").success ? "" : "x!";
      const words = argv!.filter((w, i) => w !== `--${name}` && argv![i - 1] !== `--${name}`);
      const e = usageError([words[0]!, `--${name}`, bad, ...words.slice(1)]);
      assert.is(e.command, spec.name);
      // The worker id's message predates this table and names the thing instead.
      if (name === "id") assert.is(e.message, "the worker id must be letters, digits, _ or -");
      else assert.ok(e.message.startsWith(`--${name} `) && (bad === "" || e.message.includes(`"${bad}"`)), e.message);
    }
  }
  assert.is(usageError(["logs", "wc", "--lines", "200000"]).message, '--lines must be at most 100000, got "200000"');
  assert.is(
    usageError(["update", "wc", "--component-parallelism", "a:2,a:3"]).message,
    '--component-parallelism names component "a" twice (a:2 and a:3); give it once',
  );
  assert.is(usageError(["logs", "wc", "x"]).message, 'the container must be a number >= 0, got "x"');
  assert.is(usageError(["run", "--port", "1", "x.ts"]).message, "--port needs --ui");
});

test("kept as they were: restart's blank container is 0, init ignores NATS flags, help reads its words raw", () => {
  assert.equal(parseArgs(["restart", "wc", ""]), { type: "restart", topology: "wc", container: 0, nats: {} });
  assert.equal(parseArgs(["init", "x", "--nats", "nats://a:1"]), { type: "init", dir: "x" });
  assert.is(usageError(["help", "-h"]).message, 'no help for unknown command "-h"');
  assert.is(usageError(["init"]).message, '"ardea init" takes one folder name, got 0');
});

test("the NATS flags' help names the environment variable parseNatsFlags reads for each", () => {
  assert.equal(Object.keys(NATS_OPTIONS).sort(), [...NATS_FLAGS].sort());
  const groups: NatsFlagName[][] = [["creds"], ["nkey"], ["user", "password"], ["token"], ["tls-ca"], [
    "tls-cert",
    "tls-key",
  ]];
  for (const group of [["nats"] as NatsFlagName[], ...groups]) {
    const flags = Object.fromEntries(group.map((f) => [f, f === "nats" ? "nats://a:1" : `v-${f}`]));
    const env = Object.fromEntries(group.map((f) => [NATS_OPTIONS[f].env, flags[f]]));
    const base = group[0] === "nats" ? {} : { nats: "nats://a:1" };
    assert.equal(parseNatsFlags({ ...base, ...flags }, {}), parseNatsFlags(base, env), group.join(" "));
  }
});

test("argTokens: the node:util parseArgs tokens the parser relies on", () => {
  const tokens = argTokens(["a", "--s", "--x", "--s=", "-qj", "-q", "--", "-b"], {
    s: { type: "string" },
    q: { type: "boolean", short: "q" },
  });
  assert.equal(
    tokens.map((
      t,
    ) => [
      t.kind,
      t.index,
      t.kind === "option" ? `${t.rawName}:${t.value}:${t.inlineValue}` : t.kind === "positional" ? t.value : "",
    ]),
    [
      ["positional", 0, "a"],
      ["option", 1, "--s:--x:false"], // a value flag takes the next word, whatever it is
      ["option", 3, "--s::true"],
      ["option", 4, "-q:undefined:undefined"], // a group: one token per letter, one index
      ["option", 4, "-j:undefined:undefined"],
      ["option", 5, "-q:undefined:undefined"],
      ["option-terminator", 6, ""],
      ["positional", 7, "-b"],
    ],
  );
});

test.run();
