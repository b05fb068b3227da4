import { credentials, makeGenericClientConstructor, Metadata, type ServiceError } from "@grpc/grpc-js";

/** A service of one unary method `call` at `path` whose messages are raw bytes, as any client could send. */
export const rawUnaryDefinition = (path: string) => ({
  call: {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
});

export interface RawUnaryClient {
  /** Sends `bytes` unparsed; resolves with the call's error, or null when it succeeded. */
  call(bytes: Buffer, options?: { metadata?: Metadata; deadlineMs?: number }): Promise<ServiceError | null>;
  close(): void;
}

/** A client of one method that sends whatever bytes it is given (garbage, out-of-range varints). */
export function rawUnaryClient(target: string, path: string): RawUnaryClient {
  const Raw = makeGenericClientConstructor(rawUnaryDefinition(path), "Raw");
  const client = new Raw(target, credentials.createInsecure()) as unknown as {
    call(b: Buffer, m: Metadata, o: { deadline?: Date }, cb: (e: ServiceError | null) => void): void;
    close(): void;
  };
  return {
    call(bytes, { metadata = new Metadata(), deadlineMs } = {}) {
      const deadline = deadlineMs === undefined ? undefined : new Date(Date.now() + deadlineMs);
      return new Promise((resolve) => client.call(bytes, metadata, deadline ? { deadline } : {}, resolve));
    },
    close: () => client.close(),
  };
}
