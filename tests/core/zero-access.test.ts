import { describe, expect, it } from "vitest";
import { fromBase64, toBase64, toBase64Url, utf8 } from "../../core/zero-access/encoding.js";
import { SealedBoxError, openSealed, sealTo } from "../../core/zero-access/sealed-box.js";
import { GrantError, type SignedGrant, signGrant, verifyGrant } from "../../core/zero-access/support-grant.js";
import {
  FINGERPRINT_PATTERN,
  type UserKeyPair,
  type UserPublicKey,
  exportUserPublicKey,
  generateUserKeyPair,
  parseUserPublicKey,
  userKeyFingerprint,
} from "../../core/zero-access/user-keys.js";

const INSTANCE = `inst_${"a".repeat(32)}`;
const SUPPORT_KEY = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;

async function device(extractable = false): Promise<{ pair: UserKeyPair; publicKey: UserPublicKey }> {
  const pair = await generateUserKeyPair({ extractable });
  return { pair, publicKey: await exportUserPublicKey(pair) };
}

async function grantFrom(signer: { pair: UserKeyPair; publicKey: UserPublicKey }, overrides: Partial<Parameters<typeof signGrant>[0]> = {}) {
  return signGrant(
    { instanceId: INSTANCE, supportKeys: [`${SUPPORT_KEY} support@clawcloud`], sources: ["198.51.100.0/24"], reason: "ticket 4711", ...overrides },
    { publicKey: signer.publicKey, signingKey: signer.pair.signing.privateKey },
  );
}

/** Re-signs a changed statement with `signer`, as a forger holding a device key would. */
async function resign(statement: string, signer: { pair: UserKeyPair }): Promise<SignedGrant> {
  const signature = await globalThis.crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signer.pair.signing.privateKey, utf8.encode(statement));
  return { statement, signature: toBase64Url(new Uint8Array(signature)) };
}

describe("user device keys", () => {
  it("fingerprints both halves and refuses keys of the wrong shape, naming the field", async () => {
    const { publicKey } = await device();
    const fingerprint = await userKeyFingerprint(publicKey);
    expect(fingerprint).toMatch(FINGERPRINT_PATTERN);
    const parsed = await parseUserPublicKey("key", publicKey);
    expect(parsed.fingerprint).toBe(fingerprint);
    const other = await device();
    expect(await userKeyFingerprint({ signing: publicKey.signing, sealing: other.publicKey.sealing })).not.toBe(fingerprint);
    await expect(parseUserPublicKey("key", { signing: publicKey.signing })).rejects.toThrow(/`key.sealing`/);
    await expect(parseUserPublicKey("key", { ...publicKey, sealing: "bm90IGEga2V5" })).rejects.toThrow(/`key.sealing` must be base64 SPKI/);
    await expect(parseUserPublicKey("key", { ...publicKey, extra: 1 })).rejects.toThrow(/`key.extra` is not a known field/);
    await expect(parseUserPublicKey("key", "x")).rejects.toThrow(/`key` must be an object/);
  });

  it("keeps the private halves non-extractable in the browser's mode", async () => {
    const { pair } = await device(false);
    await expect(globalThis.crypto.subtle.exportKey("pkcs8", pair.signing.privateKey)).rejects.toThrow();
    await expect(globalThis.crypto.subtle.exportKey("pkcs8", pair.sealing.privateKey)).rejects.toThrow();
  });
});

describe("support-access grants", () => {
  const now = new Date();

  it("verifies a grant signed by a pinned device key, comments stripped from support keys", async () => {
    const user = await device();
    const signed = await grantFrom(user);
    const grant = await verifyGrant(signed, { pinnedKeys: [user.publicKey], instanceId: INSTANCE, now });
    expect(grant.supportKeys).toEqual([SUPPORT_KEY]);
    expect(Date.parse(grant.notAfter) - Date.parse(grant.notBefore)).toBe(24 * 3600 * 1000);
  });

  it("refuses a grant signed by a key that is not pinned, even one claiming a pinned fingerprint", async () => {
    const user = await device();
    const provider = await device();
    const foreign = await grantFrom(provider);
    await expect(verifyGrant(foreign, { pinnedKeys: [user.publicKey], instanceId: INSTANCE, now })).rejects.toMatchObject({ code: "unknown-signer" });
    const claimed = JSON.parse((await grantFrom(provider)).statement) as Record<string, unknown>;
    claimed.signer = await userKeyFingerprint(user.publicKey);
    const forged = await resign(JSON.stringify(claimed), provider);
    await expect(verifyGrant(forged, { pinnedKeys: [user.publicKey], instanceId: INSTANCE, now })).rejects.toMatchObject({ code: "bad-signature" });
  });

  it("refuses a changed statement, a changed signature, another instance, expired, future and too-long grants", async () => {
    const user = await device();
    const options = { pinnedKeys: [user.publicKey], instanceId: INSTANCE, now };
    const signed = await grantFrom(user);
    const widened = signed.statement.replace("198.51.100.0/24", "0.0.0.1/1");
    await expect(verifyGrant({ ...signed, statement: widened }, options)).rejects.toMatchObject({ code: "bad-signature" });
    const sig = fromBase64(signed.signature);
    sig[10] = (sig[10] ?? 0) ^ 1;
    await expect(verifyGrant({ ...signed, signature: toBase64Url(sig) }, options)).rejects.toMatchObject({ code: "bad-signature" });
    await expect(verifyGrant(signed, { ...options, instanceId: `inst_${"b".repeat(32)}` })).rejects.toMatchObject({ code: "wrong-instance" });
    await expect(verifyGrant(signed, { ...options, now: new Date(now.getTime() + 25 * 3600 * 1000) })).rejects.toMatchObject({ code: "expired" });
    const future = await grantFrom(user, { notBefore: new Date(now.getTime() + 3600 * 1000) });
    await expect(verifyGrant(future, options)).rejects.toMatchObject({ code: "not-yet-valid" });
    await expect(grantFrom(user, { notAfter: new Date(now.getTime() + 25 * 3600 * 1000) })).rejects.toMatchObject({ code: "too-long" });
    const long = JSON.parse(signed.statement) as Record<string, string>;
    long.notAfter = new Date(Date.parse(long.notBefore ?? "") + 24 * 3600 * 1000 + 1000).toISOString();
    await expect(verifyGrant(await resign(JSON.stringify(long), user), options)).rejects.toMatchObject({ code: "too-long" });
  });

  it("refuses a replayed nonce", async () => {
    const user = await device();
    const signed = await grantFrom(user);
    const seen = new Set<string>();
    const options = { pinnedKeys: [user.publicKey], instanceId: INSTANCE, now, nonceSeen: (nonce: string) => seen.has(nonce) };
    const grant = await verifyGrant(signed, options);
    seen.add(grant.nonce);
    await expect(verifyGrant(signed, options)).rejects.toMatchObject({ code: "replayed" });
  });

  it("refuses malformed fields by name", async () => {
    const user = await device();
    const bad = async (change: Record<string, unknown>) => {
      const statement = JSON.stringify({ ...JSON.parse((await grantFrom(user)).statement), ...change });
      return verifyGrant(await resign(statement, user), { pinnedKeys: [user.publicKey], instanceId: INSTANCE, now });
    };
    await expect(bad({ sources: ["0.0.0.0/0"] })).rejects.toThrow(/`sources\[0\]`/);
    await expect(bad({ supportKeys: ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"] })).rejects.toThrow(/`supportKeys\[0\]`/);
    await expect(bad({ reason: "a\u202eb" })).rejects.toThrow(/`reason`/);
    await expect(bad({ nonce: "short" })).rejects.toThrow(/`nonce`/);
    await expect(bad({ admin: true })).rejects.toThrow(/`admin` must be absent/);
    await expect(verifyGrant({ statement: "{}", signature: "x" }, { pinnedKeys: [], instanceId: INSTANCE, now })).rejects.toBeInstanceOf(GrantError);
  });
});

describe("sealed boxes", () => {
  it("opens with each recipient's key and with nothing else", async () => {
    const laptop = await device();
    const phone = await device();
    const provider = await device(true);
    const secret = utf8.encode("clawchat security file contents");
    const box = await sealTo([laptop.publicKey, phone.publicKey], secret, `clawchat-keys:${INSTANCE}`);
    expect(JSON.stringify(box)).not.toContain("security file");
    for (const who of [laptop, phone]) {
      const opened = await openSealed(box, { publicKey: who.publicKey, sealingKey: who.pair.sealing.privateKey }, `clawchat-keys:${INSTANCE}`);
      expect(utf8.decode(opened)).toBe("clawchat security file contents");
    }
    await expect(openSealed(box, { publicKey: provider.publicKey, sealingKey: provider.pair.sealing.privateKey }, `clawchat-keys:${INSTANCE}`)).rejects.toBeInstanceOf(
      SealedBoxError,
    );
    // The provider's private key presented under the laptop's identity does not open the laptop's entry.
    await expect(
      openSealed(box, { publicKey: laptop.publicKey, sealingKey: provider.pair.sealing.privateKey }, `clawchat-keys:${INSTANCE}`),
    ).rejects.toBeInstanceOf(SealedBoxError);
  });

  it("refuses another context and any changed byte", async () => {
    const laptop = await device();
    const box = await sealTo([laptop.publicKey], utf8.encode("bootstrap key"), "ctx-a");
    const open = (b: typeof box, context = "ctx-a") => openSealed(b, { publicKey: laptop.publicKey, sealingKey: laptop.pair.sealing.privateKey }, context);
    await expect(open(box, "ctx-b")).rejects.toThrow(/sealed for "ctx-a"/);
    await expect(open({ ...box, context: "ctx-b" }, "ctx-b")).rejects.toBeInstanceOf(SealedBoxError);
    const ct = fromBase64(box.ciphertext);
    ct[0] = (ct[0] ?? 0) ^ 1;
    await expect(open({ ...box, ciphertext: toBase64(ct) })).rejects.toBeInstanceOf(SealedBoxError);
    await expect(open({ ...box, recipients: [] })).rejects.toThrow(/`recipients`/);
  });
});
