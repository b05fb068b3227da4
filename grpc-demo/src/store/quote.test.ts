import { describe, expect, it } from "vitest";
import { quote, wellFormed } from "./quote.js";

describe("quote", () => {
  it("escapes control characters and quotes", () => expect(quote('a\n"b"\u0000')).toBe('a\\n\\"b\\"\\u0000'));
  it("never splits a surrogate pair and escapes lone surrogates", () => {
    expect(quote("😀😀😀😀😀", 4)).toBe("😀...");
    expect(quote("x\ud800y")).toBe("x\\ud800y");
    expect(quote("x".repeat(100), 10)).toBe("xxxxxxx...");
  });
});

describe("wellFormed", () => {
  it("replaces lone surrogates and keeps pairs", () => expect(wellFormed("a\ud800b😀\udc00")).toBe("a\ufffdb😀\ufffd"));
});
