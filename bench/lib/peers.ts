import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The handout's reference servers live read-only in `../shared/peers/`. They are copied to a
 * scratch folder outside the repository and installed there with npm, so their dependencies never
 * touch the project's lockfile and their code never enters the repository.
 */
export const peerNames = ["seed-chat", "seed-grpc"] as const;
export type PeerName = (typeof peerNames)[number];

export interface Peers {
  /** Folder of each installed peer, or undefined when the peers could not be found. */
  dir(name: PeerName): string | undefined;
  /** Why peers are missing, for the report. */
  problem: string | undefined;
}

export function sourceDir(repoRoot: string): string {
  return resolve(process.env.BENCH_PEERS_SOURCE ?? join(repoRoot, "..", "shared", "peers"));
}

/** Copies and installs every peer (once per package.json content); never throws, reports instead. */
export function preparePeers(repoRoot: string, log: (line: string) => void): Peers {
  const source = sourceDir(repoRoot);
  const target = resolve(process.env.BENCH_PEERS_DIR ?? join(tmpdir(), "clusterkit-peers"));
  const ready = new Map<PeerName, string>();
  const problems: string[] = [];
  for (const name of peerNames) {
    const from = join(source, name);
    if (!existsSync(join(from, "package.json"))) {
      problems.push(`${from} not found (set BENCH_PEERS_SOURCE)`);
      continue;
    }
    const to = join(target, name);
    const hash = createHash("sha256");
    for (const file of ["package.json", "server.js"]) hash.update(readFileSync(join(from, file)));
    const stamp = join(to, ".installed");
    const digest = hash.digest("hex");
    if (!(existsSync(stamp) && readFileSync(stamp, "utf8") === digest)) {
      log(`installing peer ${name} into ${to}`);
      rmSync(to, { recursive: true, force: true });
      cpSync(from, to, { recursive: true });
      try {
        execFileSync("npm", ["install", "--no-fund", "--no-audit", "--no-package-lock", "--omit=dev", "--loglevel=error"], {
          cwd: to,
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 300_000,
        });
      } catch (error) {
        problems.push(`npm install in ${to} failed: ${String((error as { stderr?: Buffer }).stderr ?? error).slice(0, 400)}`);
        continue;
      }
      writeFileSync(stamp, digest);
    }
    ready.set(name, to);
  }
  return { dir: (name) => ready.get(name), problem: problems.length ? problems.join("; ") : undefined };
}
