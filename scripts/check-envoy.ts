/**
 * `npm run check:envoy [file…]`: validates Envoy configs against Envoy's v3 API without an Envoy
 * binary (none can be had on the workshop machines). Exits 1 and lists every problem on failure.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { validateEnvoyConfig } from "./envoy-check/validate.js";

const files = process.argv.slice(2);
if (files.length === 0) files.push("envoy/envoy.yaml");

let failed = false;
for (const file of files) {
  let problems;
  try {
    problems = validateEnvoyConfig(parse(readFileSync(file, "utf8")));
  } catch (error) {
    problems = [{ path: "(file)", message: error instanceof Error ? error.message : String(error) }];
  }
  if (problems.length === 0) {
    console.log(`envoy check: ${file}: valid v3 config`);
    continue;
  }
  failed = true;
  console.error(`envoy check: ${file}: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p.path}: ${p.message}`);
}
process.exitCode = failed ? 1 : 0;
