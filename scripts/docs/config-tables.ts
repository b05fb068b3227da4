/**
 * Writes the services' configuration tables into docs/configuration.md from their config schemas
 * (`npm run docs:config`), so each variable's default and meaning exist once, in `config.ts`.
 * Each table sits between `<!-- config:<name>:start -->` and `<!-- config:<name>:end -->`; the
 * prose around them, and the hand-written tables of what no `config.ts` reads, are left alone.
 * scripts/docs/config-tables.test.ts fails when the page differs from what this would write.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { usersEnvSchema } from "../../grpc-demo/src/config.js";
import { chatEnvSchema } from "../../websocket-chat/src/config.js";

export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const configurationPage = resolve(repoRoot, "docs/configuration.md");

/** A config schema: one field per environment variable. */
type EnvSchema = z.ZodObject<Record<string, z.ZodType>>;

/** The generated tables, by marker name. */
export const generatedTables: Readonly<Record<string, EnvSchema>> = {
  users: usersEnvSchema,
  chat: chatEnvSchema,
};

const markers = (name: string) => [`<!-- config:${name}:start -->`, `<!-- config:${name}:end -->`] as const;

/** What a variable's schema gives when it is not set, as the page shows it. */
function shownDefault(variable: string, schema: z.ZodType): string {
  const shown = schema.meta()?.["defaultShown"];
  if (typeof shown === "string") return shown;
  const value: unknown = schema.parse(undefined);
  if (value === undefined) return "unset";
  if (value === "") return "empty";
  if (typeof value === "string" && value === hostname()) {
    // Would put this machine's name on the page: say what it is instead.
    throw new Error(`${variable}'s default is this machine's hostname: give it .meta({ defaultShown: "hostname" })`);
  }
  if (typeof value === "string" && value.startsWith(repoRoot + sep)) {
    // A path under the checkout (WEB_DIST) is shown from the repository root, the same on every machine.
    return `\`${relative(repoRoot, value).split(sep).join("/")}\``;
  }
  if (Array.isArray(value)) return `\`${value.join(",")}\``; // a comma list, parsed
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return `\`${value}\``;
  throw new Error(`${variable}'s default has no written form: give it .meta({ defaultShown })`);
}

const cell = (text: string) => text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();

/** The markdown table of one schema's variables, in the schema's order. */
export function renderTable(schema: EnvSchema): string {
  const rows = Object.entries(schema.shape).map(([variable, field]) => {
    const description = field.description;
    if (!description) throw new Error(`${variable} has no description: add .describe("…") in its config.ts`);
    return `| \`${variable}\` | ${cell(shownDefault(variable, field))} | ${cell(description)} |`;
  });
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

/** `page` with every generated table rewritten; throws when a table's markers are missing. */
export function renderPage(page: string): string {
  let out = page;
  for (const [name, schema] of Object.entries(generatedTables)) {
    const [start, end] = markers(name);
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from === -1 || to < from) throw new Error(`docs/configuration.md lacks the markers ${start} … ${end}`);
    out = `${out.slice(0, from + start.length)}\n${renderTable(schema)}\n${out.slice(to)}`;
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const page = readFileSync(configurationPage, "utf8");
  const rendered = renderPage(page);
  if (rendered === page) console.log("docs/configuration.md: the tables are up to date");
  else {
    writeFileSync(configurationPage, rendered);
    console.log("docs/configuration.md: tables rewritten from the config schemas");
  }
}
