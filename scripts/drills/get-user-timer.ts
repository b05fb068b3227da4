/**
 * GetUser back to back against one target, in a process of its own so the drill's attack traffic
 * does not slow the measuring client: `tsx get-user-timer.ts <target> <users>`. Runs until its
 * stdin closes, then prints one JSON line: every call's latency in ms, and the error count.
 */
import { connectUsers, unary } from "../../grpc-demo/src/client/index.js";

const [target, users] = process.argv.slice(2);
if (!target || !Number.isInteger(Number(users))) throw new Error("usage: get-user-timer.ts <target> <users>");
const client = await connectUsers(target);
let running = true;
process.stdin.on("end", () => (running = false));
process.stdin.resume();
const latencies: number[] = [];
let errors = 0;
for (let i = 0; running; i += 1) {
  const started = performance.now();
  try {
    await unary((cb) => client.getUser({ id: 1 + (i % Number(users)) }, cb));
    latencies.push(Math.round((performance.now() - started) * 100) / 100);
  } catch {
    errors += 1;
  }
  await new Promise((resolve) => setImmediate(resolve));
}
client.close();
process.stdout.write(`${JSON.stringify({ latencies, errors })}\n`);
