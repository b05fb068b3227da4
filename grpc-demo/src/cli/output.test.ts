import { describe, expect, it } from "vitest";
import { describeUser, Output, printable, userJson } from "./output.js";

const HOSTILE = "Eve\u001b[2J\u001b]0;pwned\u0007\u009b31m\u202eevil\r\nroot\ud800";
// Raw: C0/C1 controls, DEL, separators, bidi controls, lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/;

function capture(json: boolean) {
  const lines: string[] = [];
  return { out: new Output(json, (l) => lines.push(l), (l) => lines.push(l)), lines };
}

describe("finding 11.9: the CLI never prints control characters or ANSI escapes raw", () => {
  const user = { id: 7, name: HOSTILE, email: "e\u001b[0m@example.com", createTime: new Date(0), updateTime: new Date(0) };

  it("escapes them in human output, visibly", () => {
    const { out, lines } = capture(false);
    out.emit(describeUser(user), userJson(user));
    out.note(`note ${HOSTILE}`);
    out.error({ code: 5, details: HOSTILE });
    for (const line of lines) expect(line).not.toMatch(RAW);
    expect(lines[0]).toBe("#7 Eve\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u{202e}evil\\r\\nroot\\u{d800} <e\\x1b[0m@example.com> created 1970-01-01T00:00:00.000Z");
  });

  it("escapes them in --json output too, which still parses back to the same text", () => {
    const { out, lines } = capture(true);
    out.emit(describeUser(user), { user: userJson(user) });
    expect(lines[0]).not.toMatch(RAW);
    expect((JSON.parse(lines[0]!) as { user: { name: string } }).user.name).toBe(HOSTILE);
  });

  it("leaves ordinary text alone", () => {
    expect(printable("Zoë 漢字 😀 O'Brien <a@b.c>")).toBe("Zoë 漢字 😀 O'Brien <a@b.c>");
  });
});
