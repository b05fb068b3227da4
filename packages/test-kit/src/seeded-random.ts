/**
 * A small seeded PRNG (mulberry32) with helpers for generating hostile input, so a fuzz run
 * that finds something can be replayed exactly from its seed.
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A string mixing ASCII, control characters, markup, emoji and lone surrogates. */
  hostileString(maxLength: number): string {
    const length = this.pick([0, 1, 2, 50, 99, 100, 101, 500, maxLength].map((n) => Math.min(n, maxLength)));
    const alphabets = [
      "abcdefghijklmnopqrstuvwxyz ",
      "<>\"'&/\\`${}();",
      "\u0000\u0001\u0007\n\r\t\u007f",
      "ñéüß漢字",
      "😀👍🏽",
      "\ud800\udfff",
      "@.+-_",
    ];
    let text = "";
    while (text.length < length) text += this.pick(alphabets)[this.int(0, 5)] ?? "x";
    return text.slice(0, length);
  }

  bytes(maxLength: number): Buffer {
    const buffer = Buffer.alloc(this.int(0, maxLength));
    for (let i = 0; i < buffer.length; i += 1) buffer[i] = this.int(0, 255);
    return buffer;
  }
}
