/**
 * Access tokens (JWT, HS256, short-lived, `kid` naming the key of the key set
 * in jwt-keys.ts) and opaque refresh tokens.
 * Refresh tokens and API keys are 256-bit random values, so a plain SHA-256
 * is a sound way to store them (nothing to brute-force); passwords use argon2id.
 */
import { createHash, randomBytes, timingSafeEqual, webcrypto } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Role } from "../db/schema";
import type { JwtKeySet } from "./jwt-keys";

const ISSUER = "clawstack-api";
const AUDIENCE = "clawstack-api";
/** The JOSE header `typ` of an access token (RFC 9068), so no other JWT signed with the same key passes for one. */
const ACCESS_TOKEN_TYPE = "at+jwt";
/** Claims every access token must carry: a token without an expiry or an issue time is refused, whoever signed it. */
const REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"];
const CLOCK_TOLERANCE_SECONDS = 5;

export interface AccessClaims {
  userId: string;
  role: Role;
  /** When it was issued, in milliseconds since the epoch (set on verify). */
  issuedAtMs?: number;
}

export class AccessTokens {
  /**
   * Each key imported once as a WebCrypto HMAC key: given the raw bytes, jose imports them anew on every
   * sign and verify (about a tenth of an authenticated read's CPU). Keyed by the key set's own buffers, so
   * a reload's new keys are imported on first use and the old ones are collected with their buffers.
   */
  private readonly imported = new WeakMap<Buffer, Promise<webcrypto.CryptoKey>>();

  constructor(
    readonly keys: JwtKeySet,
    private readonly ttlSeconds: number,
  ) {}

  private hmacKey(secret: Buffer): Promise<webcrypto.CryptoKey> {
    let key = this.imported.get(secret);
    if (key === undefined) {
      key = webcrypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
      this.imported.set(secret, key);
    }
    return key;
  }

  async sign(claims: AccessClaims): Promise<string> {
    const { version, key } = this.keys.signing();
    // `iat_ms`: the issue time in milliseconds, so a sign-out everywhere refuses exactly the tokens issued before it.
    return new SignJWT({ role: claims.role, typ: "access", iat_ms: Date.now() })
      .setProtectedHeader({ alg: "HS256", typ: ACCESS_TOKEN_TYPE, kid: String(version) })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setJti(randomBytes(12).toString("base64url"))
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(await this.hmacKey(key));
  }

  /**
   * The claims, or a reason the token is refused (`expired`, `invalid`).
   * Refused unless it has every claim of `REQUIRED_CLAIMS`, this issuer and
   * audience, header `typ: at+jwt`, payload `typ: access`, and is no older
   * than the access token lifetime (so a signed token with a far `exp` still
   * dies when ours would). The `kid` picks the key (none: version 1); an
   * unknown or retired one is `invalid`.
   */
  async verify(token: string): Promise<AccessClaims | { refused: "expired" | "invalid" }> {
    try {
      const { payload } = await jwtVerify(token, (header) => {
        const key = this.keys.verifying(header.kid);
        if (!key) throw new Error("unknown key id");
        return this.hmacKey(key);
      }, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["HS256"],
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: REQUIRED_CLAIMS,
        maxTokenAge: this.ttlSeconds,
        // Several API processes sign and verify: a few seconds of clock skew must not refuse a fresh token.
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (payload.typ !== "access" || typeof payload.sub !== "string") return { refused: "invalid" };
      const role = payload.role === "admin" ? "admin" : "user";
      const issuedAtMs = typeof payload.iat_ms === "number" ? payload.iat_ms : typeof payload.iat === "number" ? payload.iat * 1000 : 0;
      return { userId: payload.sub, role, issuedAtMs };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { refused: "expired" };
      return { refused: "invalid" };
    }
  }

  get ttl(): number {
    return this.ttlSeconds;
  }
}

/** A fresh 256-bit token, base64url. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function equalHex(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}
