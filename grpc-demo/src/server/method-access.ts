import { UserServiceService as HandoutServiceDefinition } from "../gen/userservice/handout.js";
import { UserServiceService } from "../gen/userservice/v1/user_service.js";

/** What a method does to users: a read is open to anyone; everything else needs the token. */
export type Access = "read" | "write";

type Classified<S> = Record<keyof S, Access>;

/*
 * Every RPC of each service this replica serves, classified by hand, once. The types make the
 * compiler reject a generated service whose methods are not all listed, and method-access.test.ts
 * checks the .proto files themselves; a method missed anyway is treated as a write (fails closed).
 */
const v1: Classified<typeof UserServiceService> = {
  getUser: "read",
  listUsers: "read",
  subscribeToUpdates: "read",
  lookupUsers: "read",
  createUser: "write",
  updateUser: "write",
  deleteUser: "write",
  importUsers: "write",
};

const handout: Classified<typeof HandoutServiceDefinition> = {
  getUser: "read",
  listUsers: "read",
  subscribeToUpdates: "read",
  createUser: "write",
};

/** Health and reflection come from libraries (no generated definition here); they only read. */
const libraryReads = [
  "/grpc.health.v1.Health/Check",
  "/grpc.health.v1.Health/Watch",
  "/grpc.health.v1.Health/List",
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

function paths<S extends Record<string, { path: string }>>(service: S, access: Classified<S>): Array<[string, Access]> {
  return (Object.keys(service) as Array<keyof S & string>).map((name) => [service[name]!.path, access[name]]);
}

/** Full method path (`/package.Service/Method`) to its access; a path not here is unclassified. */
export const METHOD_ACCESS: ReadonlyMap<string, Access> = new Map([
  ...paths(UserServiceService, v1),
  ...paths(HandoutServiceDefinition, handout),
  ...libraryReads.map((path): [string, Access] => [path, "read"]),
]);

/** True only for a method classified as a read: the allow-list the auth interceptor lets through. */
export function isRead(path: string): boolean {
  return METHOD_ACCESS.get(path) === "read";
}
