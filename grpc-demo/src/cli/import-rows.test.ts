import { describe, expect, it } from "vitest";
import { parseImportRows } from "./import-rows.js";

describe("parseImportRows", () => {
  it("reads CSV with an optional header, JSON Lines, and skips blanks and comments", () => {
    const rows = parseImportRows('name,email\n# team\nAda Lovelace, ada@example.com\n\n{"name":"Grace","email":"grace@example.com"}\r\n');
    expect(rows).toEqual([
      { name: "Ada Lovelace", email: "ada@example.com" },
      { name: "Grace", email: "grace@example.com" },
    ]);
  });

  it("keeps malformed lines as empty rows so the server reports them by index", () => {
    expect(parseImportRows("{oops\nlonely")).toEqual([
      { name: "", email: "" },
      { name: "lonely", email: "" },
    ]);
  });
});
