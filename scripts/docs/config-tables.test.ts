/**
 * docs/configuration.md against the code: the services' tables are exactly what their config
 * schemas give (`npm run docs:config` writes them), and every variable of the hand-written tables
 * (compose, scripts, tests: read by no `config.ts`) is still used by some file of the kit. The
 * limit tables of docs/security.md quote defaults for the reader's sake: they must agree too.
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

/** Every service variable's default, from the config schemas. */
const schemaDefaults = new Map(
  Object.values(generatedTables).flatMap((schema) =>
    Object.entries(schema.shape).map(([variable, field]) => [variable, field.parse(undefined)] as const),
  ),
);

/** The ways a page may write a numeric default: 16384, 16,384, and for durations 24 h, 5 min, 10 s. */
function writtenForms(variable: string, value: number): string[] {
  const forms = [String(value), value.toLocaleString("en-US")];
  if (variable.endsWith("_MS")) {
    for (const [unit, ms] of [["h", 3_600_000], ["min", 60_000], ["s", 1_000]] as const) {
      if (value % ms === 0) forms.push(`${value / ms} ${unit}`);
    }
  }
  return forms;
}

/** `| \`A\` / \`_B\` | default | … |` rows: their variables (a `_B` continues A's name) and default cell. */
function quotedDefaults(page: string): { variable: string; cell: string }[] {
  return [...page.matchAll(/^\| (`[A-Z_][A-Z0-9_]*`(?: \/ `[A-Z_][A-Z0-9_]*`)*) \| ([^|]+) \|/gm)].flatMap((match) => {
    const names = [...match[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((name) => name[1]!);
    const variables = names.map((name, i) => (name.startsWith("_") ? `${names[i - 1]!.replace(/_MS$/, "")}${name}` : name));
    return variables.map((variable) => ({ variable, cell: match[2]!.trim() }));
  });
}

describe("docs/security.md", () => {
  it("quotes in its limit tables the defaults the config schemas give", () => {
    const rows = quotedDefaults(readFileSync(join(repoRoot, "docs/security.md"), "utf8")).filter(({ variable }) => schemaDefaults.has(variable));
    expect(rows.length).toBeGreaterThan(15); // the tables were found
    const stale = rows.filter(({ variable, cell }) => {
      const value = schemaDefaults.get(variable);
      if (typeof value !== "number") return !cell.includes(String(value));
      return !writtenForms(variable, value).some((form) => new RegExp(`(?<![\\d,.])${form.replace(/[.]/g, "\\.")}(?![\\d,])`).test(cell));
    });
    expect(stale.map(({ variable, cell }) => `${variable}: "${cell}" (schema: ${String(schemaDefaults.get(variable))})`)).toEqual([]);
  });
});
