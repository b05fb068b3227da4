import { describe, expect, it } from "vitest";
import { checkNickname, isSingleScript, nicknameKey } from "./nicknames.js";

describe("nicknames (finding 11.9a)", () => {
  it("folds case, width and Latin look-alikes onto one key", () => {
    for (const spelling of ["alice", "Alice", "ALICE", "ａｌｉｃｅ", "Ａｌｉｃｅ"]) expect(nicknameKey(spelling), spelling).toBe("alice");
    expect(nicknameKey("сосо")).toBe("coco"); // four Cyrillic letters
    expect(nicknameKey("ΟΡΟ")).toBe("opo"); // Greek capitals, lower-cased then folded
    expect(nicknameKey("Ольга")).not.toBe(nicknameKey("Olga"));
  });

  it("accepts one script, and the mixes Japanese, Chinese and Korean need", () => {
    for (const name of ["alice", "Ольга", "Σωκράτης", "José", "山田たろう", "カタカナー", "user_42", "李Li", "한국어abc"]) {
      expect(isSingleScript(name), name).toBe(true);
    }
    for (const name of ["аlice", "pаypal", "Αlpha", "abcδ", "Ольгаx", "한국たろう"]) expect(isSingleScript(name), name).toBe(false);
  });

  it("normalizes what it keeps, and says why it refuses", () => {
    expect(checkNickname("ａｌｉｃｅ")).toEqual({ nickname: "alice" });
    expect(checkNickname("Jose\u0301")).toEqual({ nickname: "José" }); // a combining accent, composed
    expect(checkNickname("аlice")).toEqual({ problem: "letters of one script only (no Latin mixed with Cyrillic or Greek)" });
    expect(checkNickname("a")).toEqual({ problem: "2-32 letters, digits, '_', '.', '-'" });
    expect(checkNickname("x".repeat(65))).toEqual({ problem: "2-32 letters, digits, '_', '.', '-'" });
  });
});
