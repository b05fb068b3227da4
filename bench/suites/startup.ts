import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pick, type BenchContext } from "../lib/context.js";
import { compiledNode, freePort, rssKb, startService, tsNode } from "../lib/processes.js";
import { ratio, type SuiteResult, type Table } from "../lib/report.js";
import { startOurUsers, startRedis } from "../lib/services.js";
import { median, round } from "../lib/stats.js";

/**
 * Issue 15's lever "ship compiled JavaScript", measured: each service started the way it ran
 * before (TypeScript through tsx, compiled in the process at start) and the way it runs now
 * (`tsc -b` output by plain node, as the images and `npm start -w` run it), with the handout's
 * servers beside them; then the CLI's latency per call, the same two ways.
 */
export async function startupSuite(ctx: BenchContext): Promise<SuiteResult> {
  const runs = pick(ctx, Math.max(ctx.runs, 3), 1);
  const calls = pick(ctx, 5, 2);
  const redis = await startRedis("redis-startup");
  try {
    const ways = serviceWays(ctx, redis.url);
    const rows: StartRow[] = [];
    for (const way of ways) {
      const samples: { readyMs: number; rssMb: number }[] = [];
      for (let run = 0; run < runs; run++) samples.push(await startOnce(way));
      rows.push({ service: way.service, how: way.how, readyMs: round(median(samples.map((s) => s.readyMs))), rssMb: round(median(samples.map((s) => s.rssMb))), runs });
      ctx.log(`startup ${way.service} (${way.how}): ready in ${rows.at(-1)!.readyMs} ms, ${rows.at(-1)!.rssMb} MB RSS idle`);
    }
    const cli = await cliLatency(ctx, redis.url, calls);
    const table: Table = {
      title: "Start-up: from spawn to the port accepting, and RSS 1 s later (idle)",
      columns: ["service", "how it runs", "ready ms", "RSS MB idle", "ready vs tsx", "RSS vs tsx"],
      rows: rows.map((r) => {
        const tsx = rows.find((x) => x.service === r.service && x.how.startsWith("tsx"));
        const versus = tsx && r !== tsx && !r.how.startsWith("peer");
        return [r.service, r.how, r.readyMs, r.rssMb, versus ? ratio(r.readyMs, tsx.readyMs) : "", versus ? ratio(r.rssMb, tsx.rssMb) : ""];
      }),
    };
    const cliTable: Table = {
      title: `userctl get 1 against a running users replica: wall time per call (median of ${calls})`,
      columns: ["how it runs", "ms per call", "vs tsx"],
      rows: cli.map((c) => [c.how, c.ms, c.how.startsWith("tsx") ? "" : ratio(c.ms, cli[0]!.ms)]),
    };
    return {
      id: "startup",
      title: "Compiled JavaScript vs TypeScript through tsx: start-up, memory, CLI latency",
      method:
        `Each service started ${runs} time(s) each way on loopback over one redis-server (medians): before, \`node --import tsx src/main.ts\` (tsx compiles every ` +
        "module at start, in the process); now, `node --conditions=compiled dist/main.js`, the images' command. Ready = the port accepts a TCP connection (polled every 5 ms); " +
        "RSS from /proc 1 s after. The handout's servers (plain JavaScript) are started the same way for scale. The CLI row times one process per call, start to exit, " +
        "`userctl get 1` against a users replica holding user 1.",
      tables: [table, cliTable],
      charts: [],
      targets: [],
      notes: [],
      raw: { rows, cli },
    };
  } finally {
    await redis.stop();
  }
}

interface StartRow {
  service: string;
  how: string;
  readyMs: number;
  rssMb: number;
  runs: number;
}

interface Way {
  service: string;
  how: string;
  command: string;
  args: string[];
  cwd: string;
  env: (port: number) => NodeJS.ProcessEnv;
}

function serviceWays(ctx: BenchContext, redisUrl: string): Way[] {
  const node = process.execPath;
  const chatEnv = (port: number): NodeJS.ProcessEnv => ({ REDIS_URL: redisUrl, PORT: String(port), HOST: "127.0.0.1", SERVER_ID: "startup", LOG_LEVEL: "warn", USERS_TARGET: "127.0.0.1:1" });
  const usersEnv = (port: number): NodeJS.ProcessEnv => ({ REDIS_URL: redisUrl, PORT: String(port), HOST: "127.0.0.1", SERVER_ID: "startup", LOG_LEVEL: "warn" });
  // The same two commands the other suites use: tsNode (how the services ran before) and compiledNode.
  const ways: Way[] = [
    { service: "chat", how: "tsx, from src/", ...tsNode(join(ctx.repo, "websocket-chat/src/main.ts")), cwd: ctx.repo, env: chatEnv },
    { service: "chat", how: "compiled, dist/", ...compiledNode(ctx.repo, "websocket-chat"), cwd: ctx.repo, env: chatEnv },
    { service: "users", how: "tsx, from src/", ...tsNode(join(ctx.repo, "grpc-demo/src/main.ts")), cwd: ctx.repo, env: usersEnv },
    { service: "users", how: "compiled, dist/", ...compiledNode(ctx.repo, "grpc-demo"), cwd: ctx.repo, env: usersEnv },
  ];
  const seedChat = ctx.peers.dir("seed-chat");
  const seedGrpc = ctx.peers.dir("seed-grpc");
  if (seedChat) ways.push({ service: "chat", how: "peer (seed-chat)", command: node, args: ["server.js"], cwd: seedChat, env: (port) => ({ REDIS_URL: redisUrl, PORT: String(port), SERVER_ID: "startup" }) });
  if (seedGrpc) ways.push({ service: "users", how: "peer (seed-grpc)", command: node, args: ["server.js"], cwd: seedGrpc, env: (port) => ({ PORT: String(port) }) });
  return ways;
}

/** One start: spawn, try the port every 5 ms, read RSS a second later, stop. */
async function startOnce(way: Way): Promise<{ readyMs: number; rssMb: number }> {
  const port = await freePort();
  const started = performance.now();
  const service = await startService({ name: `${way.service} (${way.how})`, command: way.command, args: way.args, cwd: way.cwd, env: way.env(port), port, readyTimeoutMs: 60_000, pollMs: 5 });
  try {
    const readyMs = performance.now() - started;
    await sleep(1_000);
    return { readyMs, rssMb: rssKb(service.pid) / 1024 };
  } finally {
    await service.stop();
  }
}

/** `userctl get 1` wall time per call, through tsx and compiled, against one users replica. */
async function cliLatency(ctx: BenchContext, redisUrl: string, calls: number): Promise<{ how: string; ms: number }[]> {
  const users = await startOurUsers(ctx.repo, redisUrl, "users-startup");
  try {
    const target = `127.0.0.1:${users.port}`;
    const cwd = join(ctx.repo, "grpc-demo");
    const create = spawnSync(process.execPath, ["bin/userctl.mjs", "--target", target, "create", "Startup", "startup@example.test"], { cwd, encoding: "utf8" });
    if (create.status !== 0 && !/ALREADY_EXISTS/.test(create.stderr)) throw new Error(`userctl create failed: ${create.stderr}`);
    const ways = [
      { how: "tsx, from src/", args: ["--import", "tsx", "src/cli/main.ts"] },
      { how: "compiled (bin/userctl.mjs: a src/ mtime check, then dist/)", args: ["bin/userctl.mjs"] },
    ];
    const result: { how: string; ms: number }[] = [];
    for (const way of ways) {
      const times: number[] = [];
      for (let call = 0; call < calls; call++) {
        const started = performance.now();
        const run = spawnSync(process.execPath, [...way.args, "--target", target, "get", "1"], { cwd, encoding: "utf8" });
        if (run.status !== 0) throw new Error(`userctl get 1 (${way.how}) failed: ${run.stderr}`);
        times.push(performance.now() - started);
      }
      result.push({ how: way.how, ms: round(median(times)) });
      ctx.log(`startup cli (${way.how}): ${result.at(-1)!.ms} ms per call`);
    }
    return result;
  } finally {
    await users.stop();
  }
}
