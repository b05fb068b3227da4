import { fileURLToPath } from "node:url";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { protoPath as healthProtoPath } from "grpc-health-check";

const protoRoot = fileURLToPath(new URL("../../../proto/", import.meta.url));

/** Server reflection for both services and health, so `grpcurl list` works without .proto files. */
export function createReflection(): ReflectionService {
  const definition = loadSync(
    ["userservice/v1/user_service.proto", "userservice/handout.proto", healthProtoPath],
    { includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
  return new ReflectionService(definition);
}
