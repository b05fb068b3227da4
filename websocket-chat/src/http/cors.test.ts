import { describe, expect, it } from "vitest";
import { bearerToken } from "../auth/tokens.js";
import { originAllowed } from "./cors.js";

describe("originAllowed", () => {
  it("allows requests without an Origin (not a browser) and the page's own origin", () => {
    expect(originAllowed([], undefined, "chat:3000")).toBe(true);
    expect(originAllowed([], "http://localhost:8080", "localhost:8080")).toBe(true);
  });

  it("allows listed origins, or any with '*', and nothing else", () => {
    expect(originAllowed(["https://a.example"], "https://a.example", "chat:3000")).toBe(true);
    expect(originAllowed(true, "https://anything.example", "chat:3000")).toBe(true);
    expect(originAllowed(["https://a.example"], "https://b.example", "chat:3000")).toBe(false);
    expect(originAllowed([], "null", "chat:3000")).toBe(false);
    expect(originAllowed(["null"], "null", "chat:3000")).toBe(true);
  });
});

describe("bearerToken", () => {
  it("reads the token of an Authorization header, and nothing else", () => {
    expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerToken("bearer xyz")).toBe("xyz");
    expect(bearerToken("Basic dXNlcjpwYXNz")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
