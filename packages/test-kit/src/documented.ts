import { readFileSync } from "node:fs";

/**
 * The variables `readme` never names as `NAME` in backticks, the way its configuration tables
 * do: a setting the code reads that nobody can find out about.
 */
export function undocumented(variables: readonly string[], readme: URL): string[] {
  const text = readFileSync(readme, "utf8");
  return variables.filter((variable) => !text.includes(`\`${variable}\``));
}
