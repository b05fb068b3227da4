import { Router } from "express";
import type { Logger } from "pino";
import type { ClusterViewReader } from "../cluster/cluster-view.js";
import { isRedisUnavailable } from "@clusterkit/redis-kit";

/** `GET /api/cluster`: every live replica's heartbeat and Redis's INFO, for /cluster.html. */
export function clusterRouter(reader: ClusterViewReader, logger: Logger): Router {
  const router = Router();
  router.get("/", async (_req, res) => {
    try {
      res.setHeader("Cache-Control", "no-store");
      res.json(await reader.read());
    } catch (error) {
      if (!isRedisUnavailable(error)) logger.warn({ err: error }, "could not read the cluster view");
      res.status(503).json({ error: { code: "UNAVAILABLE", message: "the cluster view cannot be read from Redis right now" } });
    }
  });
  return router;
}
