import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken } from "./page-token.js";

describe("page tokens", () => {
  it("round-trip an id", () => expect(decodePageToken(encodePageToken(1234))).toBe(1234));
  it("reject forged tokens with INVALID_ARGUMENT", () => {
    expect(() => decodePageToken("garbage")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", field: "page_token" }));
    expect(() => decodePageToken(Buffer.from("after:-1").toString("base64url"))).toThrow();
  });
});
