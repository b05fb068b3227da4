import type { ClientReadableStream, ClientUnaryCall, Metadata, ServiceError } from "@grpc/grpc-js";

export interface UnaryResult<T> {
  response: T;
  /** The replica that answered (`x-served-by` header). */
  servedBy: string | undefined;
}

function servedByOf(metadata: Metadata): string | undefined {
  const value = metadata.get("x-served-by")[0];
  return typeof value === "string" ? value : undefined;
}

/**
 * Runs one callback-style unary call as a promise, keeping the `x-served-by` header:
 * `await unary<GetUserResponse>((cb) => client.getUser({ id: 1 }, cb))`.
 */
export function unary<T>(
  start: (callback: (error: ServiceError | null, response?: T) => void) => ClientUnaryCall,
): Promise<UnaryResult<T>> {
  return new Promise((resolve, reject) => {
    let servedBy: string | undefined;
    const call = start((error, response) => {
      if (error) return reject(error);
      resolve({ response: response as T, servedBy });
    });
    call.on("metadata", (metadata: Metadata) => {
      servedBy = servedByOf(metadata);
    });
  });
}

/** Reads a server stream to its end. */
export function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on("data", (item: T) => items.push(item));
    stream.on("error", reject);
    stream.on("end", () => resolve(items));
  });
}

/** Resolves with the response headers of a streaming call (sent once the server is ready). */
export function headersOf(stream: { once(event: "metadata", listener: (m: Metadata) => void): unknown }): Promise<Metadata> {
  return new Promise((resolve) => stream.once("metadata", resolve));
}

/** A deadline `ms` from now, for call options. */
export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}

export { servedByOf };
