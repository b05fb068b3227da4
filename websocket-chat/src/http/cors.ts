import type { NextFunction, Request, Response } from "express";

/**
 * Whether a browser page at `origin` may talk to this server. Same origin always may; others
 * only when CORS_ORIGIN lists them (or is "*"). WebSocket upgrades are not covered by the
 * browser's CORS checks, so Socket.IO's `allowRequest` applies this too.
 */
export function originAllowed(allowed: true | string[], origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || allowed === true) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** CORS for `/api`: answers preflights and echoes allowed origins. */
export function corsMiddleware(allowed: true | string[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (!originAllowed(allowed, origin, req.headers.host)) {
      res.status(403).json({ error: { code: "PERMISSION_DENIED", message: `origin ${origin} is not allowed` } });
      return;
    }
    if (origin) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
    }
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
      res.setHeader("Access-Control-Allow-Headers", "Content-Type, Authorization");
      res.status(204).end();
      return;
    }
    next();
  };
}
