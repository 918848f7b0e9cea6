/** The one sealing service (api/vault/sealing.ts): what the vault and the gateway tokens both rely on. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LocalKeyWrapper, VaultKeyError, type WrapContext } from "../../api/vault/key-wrapper";
import { parseInlineKeyring } from "../../api/vault/keyring";
import { openSecret, SealBrokenError, sealSecret } from "../../api/vault/sealing";

const wrapper = new LocalKeyWrapper(parseInlineKeyring(`1:${randomBytes(32).toString("base64")}`));
const context: WrapContext = { userId: "usr_a", userKeySalt: randomBytes(32), credentialId: "isec_1", kind: "gateway-token" };

describe("sealing service", () => {
  it("opens what it sealed, and the stored columns hold no plaintext", async () => {
    const secret = `gw-${randomBytes(24).toString("hex")}`;
    const sealed = await sealSecret(wrapper, context, Buffer.from(secret));
    expect(sealed.wrapKind).toBe("local");
    expect(sealed.keyVersion).toBe(1);
    expect(JSON.stringify(sealed)).not.toContain(secret);
    expect((await openSecret(wrapper, context, sealed)).toString()).toBe(secret);
  });

  it("refuses a secret moved to another id or kind (the data key is bound to both)", async () => {
    const sealed = await sealSecret(wrapper, context, Buffer.from("x"));
    await expect(openSecret(wrapper, { ...context, credentialId: "isec_2" }, sealed)).rejects.toBeInstanceOf(VaultKeyError);
    await expect(openSecret(wrapper, { ...context, kind: "digitalocean" }, sealed)).rejects.toBeInstanceOf(VaultKeyError);
  });

  it("says SealBrokenError when the content was tampered with or the passphrase key is wrong or missing", async () => {
    const sealed = await sealSecret(wrapper, context, Buffer.from("content"));
    const flipped = Buffer.from(sealed.ciphertext, "base64");
    flipped[0] = flipped[0]! ^ 1;
    await expect(openSecret(wrapper, context, { ...sealed, ciphertext: flipped.toString("base64") })).rejects.toBeInstanceOf(SealBrokenError);
    const passphraseKey = randomBytes(32);
    const guarded = await sealSecret(wrapper, context, Buffer.from("content"), passphraseKey);
    expect((await openSecret(wrapper, context, guarded, passphraseKey)).toString()).toBe("content");
    await expect(openSecret(wrapper, context, guarded)).rejects.toBeInstanceOf(SealBrokenError);
    await expect(openSecret(wrapper, context, guarded, randomBytes(32))).rejects.toBeInstanceOf(SealBrokenError);
  });
});
