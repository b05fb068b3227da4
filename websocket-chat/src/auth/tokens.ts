import { jwtVerify, SignJWT, errors } from "jose";
import { checkNickname } from "../contracts/nicknames.js";

/** Who a verified token names, and until when (ms since the epoch) it may be used. */
export interface TokenIdentity {
  nickname: string;
  expiresAt: number;
}

/** HS256 tokens naming a chat user: `{ sub: <nickname>, exp }`. */
export class ChatTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** Signs a token for `nickname`, valid for `ttlSeconds`. For the token script and tests. */
  async sign(nickname: string, ttlSeconds = 12 * 3600): Promise<string> {
    if (!("nickname" in checkNickname(nickname))) throw new Error(`'${nickname}' is not a valid nickname`);
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(nickname)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /**
   * The nickname a token names and when it expires; throws an Error with a message fit for the
   * client otherwise. A token without `exp` is refused (finding 11.9b): it would be a password
   * that never changes, and a socket could never be told its time is up.
   */
  async verify(token: unknown): Promise<TokenIdentity> {
    if (typeof token !== "string" || token === "") throw new Error("a token is required (auth: { token })");
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"], requiredClaims: ["exp", "sub"] });
      const checked = typeof payload.sub === "string" ? checkNickname(payload.sub) : undefined;
      if (!checked || !("nickname" in checked)) throw new Error("the token's subject is not a valid nickname");
      return { nickname: checked.nickname, expiresAt: payload.exp! * 1000 };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new Error("the token has expired");
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === "exp") {
        throw new Error("the token has no expiry (exp); ask for a new one");
      }
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
