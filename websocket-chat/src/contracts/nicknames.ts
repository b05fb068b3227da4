import { NICKNAME_PATTERN } from "./limits.js";

/**
 * Nicknames that look alike must not be two users (finding 11.9a). A nickname is kept as typed
 * after NFKC (fullwidth `ａｌｉｃｅ` becomes `alice`), must use letters of one script (Cyrillic
 * `а` inside Latin `lice` is refused), and is owned under a canonical key: NFKC, lower case, and
 * the few Cyrillic/Greek lower-case letters that are drawn like Latin ones folded onto them, so
 * that an all-Cyrillic `ѕрес` cannot pose as `spec` either. A small subset of Unicode's UTS #39
 * (no dependency in the lockfile provides confusables data); it stops the cheap tricks, not
 * every look-alike a font can draw.
 */

/** Scripts a nickname's letters are sorted into; a letter of any other script is "other". */
const scripts = ["Latin", "Greek", "Cyrillic", "Armenian", "Georgian", "Hebrew", "Arabic", "Devanagari", "Bengali", "Tamil", "Thai", "Ethiopic", "Hangul", "Hiragana", "Katakana", "Han", "Bopomofo"].map(
  (name) => [name, new RegExp(`^\\p{Script=${name}}$`, "u")] as const,
);
const neutral = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** Mixes UTS #39 "highly restrictive" allows: how Japanese, Chinese and Korean are written. */
const allowedMixes = [
  new Set(["Latin", "Han", "Hiragana", "Katakana"]),
  new Set(["Latin", "Han", "Bopomofo"]),
  new Set(["Latin", "Han", "Hangul"]),
];

/** Lower-case Cyrillic and Greek letters a reader takes for Latin ones. */
const lookalikes: Record<string, string> = {
  а: "a", е: "e", һ: "h", і: "i", ј: "j", ӏ: "l", о: "o", р: "p", ԛ: "q", ѕ: "s", у: "y", ԝ: "w", х: "x", ԁ: "d", с: "c",
  ο: "o", ν: "v", ρ: "p", υ: "u", χ: "x",
};

function scriptOf(char: string): string | undefined {
  if (neutral.test(char)) return undefined;
  return scripts.find(([, pattern]) => pattern.test(char))?.[0] ?? "other";
}

/** True when the letters come from one script, or from one of the mixes CJK writing needs. */
export function isSingleScript(nickname: string): boolean {
  const used = new Set<string>();
  for (const char of nickname) {
    const script = scriptOf(char);
    if (script) used.add(script);
  }
  if (used.size <= 1) return true;
  return allowedMixes.some((mix) => [...used].every((script) => mix.has(script)));
}

/**
 * The nickname as it will be shown (NFKC), or why it is refused. For the socket schemas and the
 * token subject alike. Input is bounded before normalizing: NFKC may grow a string.
 */
export function checkNickname(raw: string): { nickname: string } | { problem: string } {
  if (raw.length > 64) return { problem: "2-32 letters, digits, '_', '.', '-'" };
  const nickname = raw.normalize("NFKC");
  if (!NICKNAME_PATTERN.test(nickname)) return { problem: "2-32 letters, digits, '_', '.', '-'" };
  if (!isSingleScript(nickname)) return { problem: "letters of one script only (no Latin mixed with Cyrillic or Greek)" };
  return { nickname };
}

/** The key a nickname is owned under: every spelling that folds to it is the same user. */
export function nicknameKey(nickname: string): string {
  const folded = nickname.normalize("NFKC").toLowerCase().normalize("NFKC");
  let key = "";
  for (const char of folded) key += lookalikes[char] ?? char;
  return key;
}
