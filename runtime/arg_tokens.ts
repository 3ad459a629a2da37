/**
 * Command-line tokens from `node:util`'s `parseArgs` (the same code on Node
 * 20 and, through its node compatibility, Deno 2): which word is a flag,
 * which flag takes the next word as its value, where `--` ends the flags.
 * Deciding what is allowed is the caller's job, so the tokenizer runs with
 * `strict: false`: an unknown flag is a token, not an exception.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** How a flag is written: `boolean` flags take no value, `string` flags take one (`--f V` or `--f=V`). */
export interface ArgTokenOption {
  readonly type: "boolean" | "string";
  /** A one-letter alias, written `-x`. */
  readonly short?: string;
}

/**
 * One word (or, for a group of short flags such as `-qj`, one letter of a
 * word) of a command line. `index` is the position of the word in the
 * tokenized arguments; a `string` flag without an inline value took the
 * next word as its `value` (`inlineValue` false), whatever that word is.
 */
export type ArgToken =
  | {
    readonly kind: "option";
    readonly name: string;
    readonly rawName: string;
    readonly index: number;
    readonly value?: string | undefined;
    readonly inlineValue?: boolean | undefined;
  }
  | { readonly kind: "positional"; readonly index: number; readonly value: string }
  | { readonly kind: "option-terminator"; readonly index: number };

/**
 * The tokens of `args` given the flags in `options` (keyed by long name
 * without `--`). Never throws for an unknown flag or a missing value.
 *
 * @example
 * ```ts
 * import { argTokens } from "./arg_tokens.ts";
 * argTokens(["wc", "--lines", "5", "-q"], { lines: { type: "string" }, quiet: { type: "boolean", short: "q" } });
 * // [{ kind: "positional", index: 0, value: "wc" },
 * //  { kind: "option", name: "lines", rawName: "--lines", index: 1, value: "5", inlineValue: false },
 * //  { kind: "option", name: "quiet", rawName: "-q", index: 3, value: undefined, inlineValue: undefined }]
 * ```
 */
export function argTokens(args: readonly string[], options: Readonly<Record<string, ArgTokenOption>>): ArgToken[] {
  const config = Object.fromEntries(
    Object.entries(options).map((
      [name, o],
    ) => [name, o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }]),
  );
  return parseArgs({ args: [...args], options: config, strict: false, allowPositionals: true, tokens: true }).tokens;
}
