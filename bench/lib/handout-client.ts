import { credentials, loadPackageDefinition, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { join } from "node:path";

/**
 * A client of the handout's `userservice.UserService`, built the handout's way (proto-loader),
 * so the very same client code calls the peer and our replicas.
 */
export interface HandoutUser {
  id: number;
  name: string;
  email: string;
  created_at?: string;
}

type Callback<T> = (error: ServiceError | null, value?: T) => void;
export interface HandoutClient extends Client {
  getUser(request: { id: number }, callback: Callback<HandoutUser>): unknown;
  createUser(request: { name: string; email: string }, callback: Callback<HandoutUser>): unknown;
  listUsers(request: object): NodeJS.EventEmitter & { cancel(): void };
  subscribeToUpdates(request: object): NodeJS.EventEmitter & { cancel(): void };
}

/** Round robin over every address of a comma list, as the kit's own client does. */
const roundRobin = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

export function handoutClient(repo: string, addresses: string[], options: Record<string, unknown> = {}): HandoutClient {
  const definition = loadSync(join(repo, "proto/userservice/handout.proto"));
  const pkg = loadPackageDefinition(definition) as unknown as {
    userservice: { UserService: new (target: string, creds: ReturnType<typeof credentials.createInsecure>, options: object) => HandoutClient };
  };
  const target = addresses.length === 1 ? addresses[0]! : `ipv4:${addresses.join(",")}`;
  return new pkg.userservice.UserService(target, credentials.createInsecure(), { "grpc.service_config": roundRobin, ...options });
}

export function call<T>(start: (cb: Callback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}

/** Reads a server stream to its end, counting messages. */
export function drain(stream: NodeJS.EventEmitter): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    stream.on("data", () => count++);
    stream.on("error", reject);
    stream.on("end", () => resolve(count));
  });
}
