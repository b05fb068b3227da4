import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The chat's folders depend on each other one way (docs/architecture.md): the handlers in chat/
// get what they need injected and import no HTTP code; the user service is reached through one door.
// A reader trusts that only while a test keeps it true.
const src = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports (`import ... from "x"`, `export ... from "x"`, `import("x")`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)"([^"]+)"/g)].map((match) => match[1]!);
}

/** The folder under src/ an import lands in ("" for src/ itself), or undefined for a package. */
function folderOf(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const target = relative(src, resolve(dirname(file), specifier));
  return target.includes("/") ? target.split("/")[0] : "";
}

const files = sources(src).map((path) => ({ path, name: relative(src, path), imports: importsOf(path) }));

describe("the chat's layering", () => {
  it("finds the sources it checks", () => {
    expect(files.filter((file) => file.name.startsWith("chat/")).length).toBeGreaterThan(10);
  });

  it("keeps chat/ free of the HTTP layer and of the users feed's implementation, and sockets/ of the latter", () => {
    // sockets/ builds the Socket.IO server on the HTTP one: the handshake's address, CORS and
    // connection checks are HTTP code it may use. The handlers get everything injected.
    const banned: Record<string, string[]> = { chat: ["http", "users"], sockets: ["users"] };
    const upward = files.flatMap((file) => {
      const ban = banned[file.name.split("/")[0]!] ?? [];
      return file.imports.filter((specifier) => ban.includes(folderOf(file.path, specifier) ?? "-")).map((specifier) => `${file.name} -> ${specifier}`);
    });
    expect(upward).toEqual([]);
  });

  it("reaches the user service only through users/users-contract.ts and contracts/users-types.ts", () => {
    const doors = ["users/users-contract.ts", "contracts/users-types.ts"];
    const elsewhere = files
      .filter((file) => !doors.includes(file.name))
      .flatMap((file) => file.imports.filter((specifier) => specifier.startsWith("grpc-demo")).map((specifier) => `${file.name} -> ${specifier}`));
    expect(elsewhere).toEqual([]);
  });

  it("keeps contracts/ (shared with the browser) to types and plain code: no Node or server package", () => {
    const allowed = (specifier: string) => specifier.startsWith("./") || ["zod", "socket.io-client"].includes(specifier) || specifier.startsWith("grpc-demo/");
    const heavy = files
      .filter((file) => file.name.startsWith("contracts/"))
      .flatMap((file) => file.imports.filter((specifier) => !allowed(specifier)).map((specifier) => `${file.name} -> ${specifier}`));
    expect(heavy).toEqual([]);
  });
});
