import { jwtVerify, SignJWT, errors } from "jose";
import { NICKNAME_PATTERN } from "../contracts/limits.js";

/** HS256 tokens naming a chat user: `{ sub: <nickname> }`. */
export class ChatTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** Signs a token for `nickname`, valid for `ttlSeconds`. For the token script and tests. */
  async sign(nickname: string, ttlSeconds = 12 * 3600): Promise<string> {
    if (!NICKNAME_PATTERN.test(nickname)) throw new Error(`'${nickname}' is not a valid nickname`);
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(nickname)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /** The nickname a token names; throws an Error with a message fit for the client otherwise. */
  async verify(token: unknown): Promise<string> {
    if (typeof token !== "string" || token === "") throw new Error("a token is required (auth: { token })");
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] });
      if (typeof payload.sub !== "string" || !NICKNAME_PATTERN.test(payload.sub)) {
        throw new Error("the token's subject is not a valid nickname");
      }
      return payload.sub;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new Error("the token has expired");
      if (error instanceof errors.JOSEError) throw new Error("the token is not valid");
      throw error;
    }
  }
}

/** Reads `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match?.[1];
}
