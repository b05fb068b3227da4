import type { ClusterView } from "../../src/contracts/cluster.js";

/** One message's way through the cluster: the replica that took it, and each replica that delivered it. */
export interface MessagePath {
  id: string;
  room: string;
  takenBy: string;
  deliveredBy: { replica: string; sockets: number }[];
}

/** Orders stream ids ("<ms>-<seq>") newest first. */
function newestFirst(a: string, b: string): number {
  const [aMs = "0", aSeq = "0"] = a.split("-");
  const [bMs = "0", bSeq = "0"] = b.split("-");
  const byMs = BigInt(bMs) - BigInt(aMs);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(bSeq) - BigInt(aSeq);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}

/** Lines up every replica's recent deliveries by message id: newest messages first. */
export function messagePaths(view: ClusterView, limit: number): MessagePath[] {
  const paths = new Map<string, MessagePath>();
  for (const replica of view.chat) {
    for (const hop of replica.recent) {
      let path = paths.get(hop.id);
      if (!path) paths.set(hop.id, (path = { id: hop.id, room: hop.room, takenBy: hop.takenBy, deliveredBy: [] }));
      path.deliveredBy.push({ replica: replica.id, sockets: hop.delivered });
    }
  }
  return [...paths.values()].sort((a, b) => newestFirst(a.id, b.id)).slice(0, limit);
}

export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

/** `userservice.v1.UserService/GetUser` → `GetUser`; the handout's service and others keep a hint. */
export function shortMethod(path: string): string {
  const [service = "", method = path] = path.split("/");
  if (service === "userservice.v1.UserService") return method;
  if (service === "userservice.UserService") return `handout ${method}`;
  return `${service.split(".").pop() ?? service} ${method}`;
}
