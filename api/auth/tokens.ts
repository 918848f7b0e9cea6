/**
 * Access tokens (JWT, HS256, short-lived) and opaque refresh tokens.
 * Refresh tokens and API keys are 256-bit random values, so a plain SHA-256
 * is a sound way to store them (nothing to brute-force); passwords use argon2id.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ConfigError } from "../../core/errors";
import type { Role } from "../db/schema";

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
  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlSeconds: number,
  ) {}

  sign(claims: AccessClaims): Promise<string> {
    // `iat_ms`: the issue time in milliseconds, so a sign-out everywhere refuses exactly the tokens issued before it.
    return new SignJWT({ role: claims.role, typ: "access", iat_ms: Date.now() })
      .setProtectedHeader({ alg: "HS256", typ: ACCESS_TOKEN_TYPE })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setJti(randomBytes(12).toString("base64url"))
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.secret);
  }

  /**
   * The claims, or a reason the token is refused (`expired`, `invalid`).
   * Refused unless it has every claim of `REQUIRED_CLAIMS`, this issuer and
   * audience, header `typ: at+jwt`, payload `typ: access`, and is no older
   * than the access token lifetime (so a signed token with a far `exp` still
   * dies when ours would).
   */
  async verify(token: string): Promise<AccessClaims | { refused: "expired" | "invalid" }> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
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

/**
 * The JWT secret: `CLAWSTACK_JWT_SECRET` (base64, >= 32 bytes) or a file under
 * the data directory, generated with mode 600 on first start.
 */
export function loadJwtSecret(inline: string | undefined, file: string): Uint8Array {
  if (inline !== undefined) {
    const secret = Buffer.from(inline, "base64");
    if (secret.length < 32) {
      throw new ConfigError(
        "CLAWSTACK_JWT_SECRET",
        `\`CLAWSTACK_JWT_SECRET\` must be base64 of at least 32 bytes; given ${secret.length} bytes`,
      );
    }
    return secret;
  }
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  const secret = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  if (secret.length < 32) {
    throw new ConfigError("CLAWSTACK_JWT_SECRET", `the JWT secret file \`${file}\` holds fewer than 32 bytes`);
  }
  return secret;
}
