/**
 * The documentation's relative links resolve: issue 13 split the root README into docs/, and a
 * moved section must stay one link away, with every link into or out of it still pointing at a
 * file (and, for `#anchor`, a heading) that exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const docsPages = readdirSync(join(root, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => `docs/${name}`);
const pages = [
  "README.md",
  ...docsPages,
  "websocket-chat/README.md",
  "grpc-demo/README.md",
  "compose/README.md",
  "k8s/README.md",
  "bench/README.md",
  "packages/test-kit/README.md",
  "packages/redis-kit/README.md",
  "packages/service-kit/README.md",
];

/** The Markdown outside fenced code blocks, where `#` lines and `[x](y)` are not Markdown. */
function prose(text: string): string {
  let fenced = false;
  return text
    .split("\n")
    .filter((line) => {
      if (line.trimStart().startsWith("```")) {
        fenced = !fenced;
        return false;
      }
      return !fenced;
    })
    .join("\n");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of prose(readFileSync(file, "utf8")).matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    const slug = match[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

function brokenLinks(page: string): string[] {
  const file = join(root, page);
  const broken: string[] = [];
  for (const match of prose(readFileSync(file, "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1]!;
    if (/^[a-z]+:/i.test(target)) continue;
    const [path, anchor] = target.split("#") as [string, string | undefined];
    const targetFile = path === "" ? file : resolve(dirname(file), path);
    if (!existsSync(targetFile)) {
      broken.push(`${target} (no ${relative(root, targetFile)})`);
      continue;
    }
    if (anchor !== undefined && targetFile.endsWith(".md") && !statSync(targetFile).isDirectory()) {
      if (!anchors(targetFile).has(anchor)) broken.push(`${target} (no heading #${anchor})`);
    }
  }
  return broken;
}

describe("documentation links (issue 13)", () => {
  it.each(pages)("every relative link in %s points at a file and heading that exist", (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it("links every docs/ page from the root README, which stays under 300 lines", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(docsPages.filter((page) => !readme.includes(`](${page}`))).toEqual([]);
    expect(readme.split("\n").length).toBeLessThanOrEqual(300);
  });
});
