// Container health check for the user service: exits 0 only when grpc.health.v1 says SERVING.
// Plain JS on purpose: it runs every few seconds, so it must start fast (no tsx transform).
// Usage: node grpc.mjs [target] [service]   (default 127.0.0.1:50051, "" = the whole server)
import { credentials, makeClientConstructor } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

const target = process.argv[2] ?? "127.0.0.1:50051";
const service = process.argv[3] ?? "";
const Health = makeClientConstructor(healthService, "grpc.health.v1.Health");
const client = new Health(target, credentials.createInsecure());
client.check({ service }, { deadline: Date.now() + 2000 }, (error, response) => {
  if (error) {
    console.error(`health: ${error.message}`);
    process.exit(1);
  }
  const status = typeof response.status === "number" ? ["UNKNOWN", "SERVING", "NOT_SERVING"][response.status] : response.status;
  console.log(`health: ${status}`);
  process.exit(status === "SERVING" ? 0 : 1);
});
