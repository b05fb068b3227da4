import type { ImportUsersRequest } from "../gen/userservice/v1/user_service.js";

/**
 * Parses import input: JSON Lines (`{"name":…,"email":…}` per line) or CSV (`name,email`,
 * optional header). Blank lines and `#` comments are skipped. A malformed line becomes a row
 * with empty fields, so the server reports it with its index instead of the CLI dropping it.
 */
export function parseImportRows(text: string): ImportUsersRequest[] {
  const rows: ImportUsersRequest[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("{")) {
      try {
        const parsed = JSON.parse(line) as { name?: unknown; email?: unknown };
        // A field that is not text becomes its JSON, so the server names the bad row and field.
        const text = (value: unknown) => (value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value));
        rows.push({ name: text(parsed.name), email: text(parsed.email) });
      } catch {
        rows.push({ name: "", email: "" });
      }
      continue;
    }
    const comma = line.lastIndexOf(",");
    const name = comma < 0 ? line : line.slice(0, comma).trim();
    const email = comma < 0 ? "" : line.slice(comma + 1).trim();
    if (rows.length === 0 && name.toLowerCase() === "name" && email.toLowerCase() === "email") continue;
    rows.push({ name: name.replace(/^"|"$/g, ""), email });
  }
  return rows;
}
