/**
 * Gateway setup grants (core/zero-access/gateway-admin-grant.ts): signed by a
 * user's device key, verified against the pinned keys, refused when forged,
 * for another instance, too long, expired, replayed or a support grant.
 */
import { describe, expect, it } from "vitest";
import { toBase64Url, utf8 } from "../../core/zero-access/encoding.js";
import { GATEWAY_ADMIN_GRANT_KIND, signGatewayAdminGrant, verifyGatewayAdminGrant } from "../../core/zero-access/gateway-admin-grant.js";
import { signGrant } from "../../core/zero-access/support-grant.js";
import { exportUserPublicKey, generateUserKeyPair } from "../../core/zero-access/user-keys.js";

const INSTANCE = `inst_${"b".repeat(32)}`;

async function device() {
  const pair = await generateUserKeyPair({ extractable: false });
  const publicKey = await exportUserPublicKey(pair);
  return { publicKey, signingKey: pair.signing.privateKey, pair };
}

describe("gateway setup grants", () => {
  it("verify against the pinned key that signed them, for their instance, within their window", async () => {
    const signer = await device();
    const signed = await signGatewayAdminGrant({ instanceId: INSTANCE, reason: "set the model provider" }, signer);
    const grant = await verifyGatewayAdminGrant(signed, { pinnedKeys: [signer.publicKey], instanceId: INSTANCE, now: new Date() });
    expect(grant.kind).toBe(GATEWAY_ADMIN_GRANT_KIND);
    expect(Date.parse(grant.notAfter) - Date.parse(grant.notBefore)).toBe(15 * 60 * 1000);
  });

  it("refuse an unpinned signer, a changed statement, another instance, expiry, replay, over an hour, and a support grant", async () => {
    const signer = await device();
    const other = await device();
    const pinned = { pinnedKeys: [signer.publicKey], instanceId: INSTANCE };
    const signed = await signGatewayAdminGrant({ instanceId: INSTANCE, reason: "setup" }, signer);
    await expect(verifyGatewayAdminGrant(signed, { pinnedKeys: [other.publicKey], instanceId: INSTANCE, now: new Date() })).rejects.toMatchObject({ code: "unknown-signer" });
    const changed = signed.statement.replace("setup", "setuq");
    await expect(verifyGatewayAdminGrant({ statement: changed, signature: signed.signature }, { ...pinned, now: new Date() })).rejects.toMatchObject({ code: "bad-signature" });
    await expect(verifyGatewayAdminGrant(signed, { ...pinned, instanceId: `inst_${"c".repeat(32)}`, now: new Date() })).rejects.toMatchObject({ code: "wrong-instance" });
    await expect(verifyGatewayAdminGrant(signed, { ...pinned, now: new Date(Date.now() + 16 * 60 * 1000) })).rejects.toMatchObject({ code: "expired" });
    await expect(verifyGatewayAdminGrant(signed, { ...pinned, now: new Date(), nonceSeen: () => true })).rejects.toMatchObject({ code: "replayed" });
    const start = new Date();
    await expect(signGatewayAdminGrant({ instanceId: INSTANCE, reason: "setup", notBefore: start, notAfter: new Date(start.getTime() + 61 * 60 * 1000) }, signer)).rejects.toMatchObject({ code: "too-long" });
    // A statement signed by the right key but longer than an hour is refused by the host too.
    const long = JSON.stringify({ ...JSON.parse(signed.statement), notAfter: new Date(start.getTime() + 2 * 3_600_000).toISOString() });
    const longSigned = { statement: long, signature: toBase64Url(new Uint8Array(await globalThis.crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signer.signingKey, utf8.encode(long)))) };
    await expect(verifyGatewayAdminGrant(longSigned, { ...pinned, now: new Date() })).rejects.toMatchObject({ code: "too-long" });
    const support = await signGrant({ instanceId: INSTANCE, supportKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"], sources: ["198.51.100.0/24"], reason: "x" }, { publicKey: signer.publicKey, signingKey: signer.signingKey });
    await expect(verifyGatewayAdminGrant(support, { ...pinned, now: new Date() })).rejects.toThrow(/`supportKeys` must be absent/);
    await expect(verifyGatewayAdminGrant({ statement: signed.statement }, { ...pinned, now: new Date() })).rejects.toMatchObject({ code: "malformed" });
  });
});
