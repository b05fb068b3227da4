import { credentials, makeClientConstructor, type Client, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { unary } from "./calls.js";

const HealthClient = makeClientConstructor(healthService, "grpc.health.v1.Health");

export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

const STATUS_NAMES: Record<number, ServingStatus> = { 0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN" };

function statusName(value: unknown): ServingStatus {
  if (typeof value === "string") return value as ServingStatus;
  return STATUS_NAMES[Number(value)] ?? "UNKNOWN";
}

type HealthStub = Client & {
  check(req: { service: string }, options: { deadline: Date }, cb: (e: ServiceError | null, r?: { status: unknown }) => void): ClientUnaryCall;
  watch(req: { service: string }): NodeJS.EventEmitter & { cancel(): void };
};

/** A grpc.health.v1 client (used by the CLI's `health`, tests and container health checks). */
export class HealthChecker {
  private readonly client: HealthStub;

  constructor(target: string) {
    this.client = new HealthClient(target, credentials.createInsecure()) as unknown as HealthStub;
  }

  async check(service = "", deadlineMs = 3000): Promise<ServingStatus> {
    return (await this.report(service, deadlineMs)).status;
  }

  /** Like `check`, with the replica that answered (its `x-served-by` header). */
  async report(service = "", deadlineMs = 3000): Promise<{ status: ServingStatus; servedBy: string | undefined }> {
    const { response, servedBy } = await unary<{ status: unknown }>((cb) =>
      this.client.check({ service }, { deadline: new Date(Date.now() + deadlineMs) }, cb),
    );
    return { status: statusName(response.status), servedBy };
  }

  /** Streams every status change of `service`; call the returned function to stop. */
  watch(service: string, onStatus: (status: ServingStatus) => void, onError?: (error: Error) => void): () => void {
    const call = this.client.watch({ service });
    call.on("data", (response: { status: unknown }) => onStatus(statusName(response.status)));
    call.on("error", (error: Error) => onError?.(error));
    return () => call.cancel();
  }

  close(): void {
    this.client.close();
  }
}
