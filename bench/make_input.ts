/**
 * Writes a generated input file for `--input`:
 *   node --import ./runtime/node_loader.mjs bench/make_input.ts FILE [--words N] [--seed S]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { writeInputFile } from "./input.ts";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { words: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" } },
});
if (positionals.length !== 1) {
  console.error("usage: bench/make_input.ts FILE [--words N] [--seed S]");
  process.exit(2);
}
const n = writeInputFile(positionals[0], { words: Number(values.words), seed: Number(values.seed) });
console.log(`wrote ${n} lines (${values.words} words) to ${positionals[0]}`);
