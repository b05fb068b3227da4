import { describe, expect, it } from "vitest";
import { emailKey, validEmail, validId, validName } from "./user-validation.js";

describe("user validation", () => {
  it("trims names and counts characters, not bytes", () => {
    expect(validName("  Ada ")).toBe("Ada");
    expect(validName("é".repeat(100))).toHaveLength(100);
    expect(() => validName("é".repeat(101))).toThrow(/at most 100/);
    expect(() => validName(" \t ")).toThrow(/must not be empty/);
  });

  it("accepts real addresses and refuses malformed ones", () => {
    expect(validEmail(" Ada@Example.com ")).toBe("Ada@Example.com");
    for (const bad of ["ada", "ada@", "@example.com", "a b@example.com", `${"a".repeat(250)}@example.com`]) {
      expect(() => validEmail(bad)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", field: "email" }));
    }
  });

  it("compares emails case-insensitively", () => expect(emailKey(" Ada@Example.COM")).toBe("ada@example.com"));

  it("wants positive integer ids", () => {
    expect(validId(7)).toBe(7);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => validId(bad)).toThrow(/positive integer/);
  });
});
