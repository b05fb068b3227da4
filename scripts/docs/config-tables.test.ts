/**
 * docs/configuration.md against the code: the services' tables are exactly what their config
 * schemas give (`npm run docs:config` writes them), and every variable of the hand-written tables
 * (compose, scripts, tests: read by no `config.ts`) is still used by some file of the kit.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configurationPage, generatedTables, renderPage, repoRoot } from "./config-tables.js";

const page = readFileSync(configurationPage, "utf8");

/** Folders that hold no setting's reader: dependencies, build output, the docs themselves. */
const skippedDirs = new Set(["node_modules", ".git", "dist", ".tsbuild", ".tmp", "coverage", "docs", "gen"]);

function kitFiles(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skippedDirs.has(entry.name) ? [] : kitFiles(path);
    return entry.name.endsWith(".md") || entry.name === "package-lock.json" ? [] : [path];
  });
}

/** The variables named in the first column of the tables outside the generated ones. */
function handWrittenVariables(): string[] {
  const outside = Object.keys(generatedTables).reduce(
    (text, name) => text.replace(new RegExp(`<!-- config:${name}:start -->[\\s\\S]*?<!-- config:${name}:end -->`), ""),
    page,
  );
  return [...outside.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((match) => match[1]!);
}

describe("docs/configuration.md", () => {
  it("has the services' tables as their config schemas give them", () => {
    expect(page, "docs/configuration.md differs from the config schemas: run `npm run docs:config`").toBe(renderPage(page));
  });

  it("would have a stale default or description rewritten, and refuses a page without the markers", () => {
    const current = renderPage(page);
    const stale = current.replace("| `CHAT_HISTORY_SIZE` | `50` |", "| `CHAT_HISTORY_SIZE` | `40` |");
    expect(stale).not.toBe(current);
    expect(renderPage(stale)).toBe(current);
    expect(() => renderPage(current.replace("<!-- config:users:end -->", ""))).toThrow(/config:users/);
  });

  it("names in its hand-written tables only variables some file of the kit uses", () => {
    const variables = handWrittenVariables();
    expect(variables).toContain("CHAT_LB"); // the tables were found
    const sources = kitFiles().map((file) => readFileSync(file, "utf8"));
    const unused = variables.filter((variable) => {
      const named = new RegExp(`\\b${variable}\\b`);
      return !sources.some((text) => named.test(text));
    });
    expect(unused, "documented but read by nothing: remove the row, or the variable is misspelt").toEqual([]);
  });
});
