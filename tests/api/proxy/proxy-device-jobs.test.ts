/**
 * The API side of the proxy's device in `up` jobs (docs/proxy.md "Device
 * identity"): the registration preparer puts this deployment's device (the
 * public half of the data dir's key) in the host config, drops any other
 * `proxyDevice` a stored request carried, and the engine's parser takes it;
 * the key file is the one the proxy plugin signs with, and the private key is
 * in no log line and no database.
 */
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectJobStack } from "../../../api/engine/host-config";
import type { Job } from "../../../api/db/schema";
import { currentProxyDevice, loadProxyDevice, PROXY_DEVICE_KEY_FILE_NAME, ProxyDeviceIdentity } from "../../../api/proxy/device-identity";
import { registrationPreparer } from "../../../api/registration/prepare";
import { insertInstance } from "../jobs/support/db";
import { engines, remember, scanForSecrets, signUp, startApi, type TestApi } from "../support";

describe.each(engines("the proxy device in up jobs"))("the proxy's device in `up` jobs on $engine", ({ engine, skip }) => {
  let api: TestApi;

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine });
    const pem = readFileSync(join(api.dataDir, PROXY_DEVICE_KEY_FILE_NAME), "utf8");
    const der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
    remember(api, pem, ...pem.split("\n").filter((line) => line && !line.startsWith("-----")), der.subarray(der.length - 32).toString("base64url"));
    api.binarySecrets.push(Buffer.from(der.subarray(der.length - 32)));
  }, 60_000);

  afterAll(async () => {
    if (skip) return;
    await api.close();
  });

  it.skipIf(skip)("the proxy plugin signs with the data dir's key (made once, mode 600)", () => {
    const device = loadProxyDevice({ dataDir: api.dataDir });
    expect(currentProxyDevice()?.id).toBe(device.id);
  });

  it.skipIf(skip)("an `up` carries this deployment's proxyDevice to the host config, never another", async () => {
    const owner = await signUp(api, "owner");
    const { id } = await insertInstance(api.app.db, { userId: owner.userId });
    const row = await api.app.db.selectFrom("instances").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    const job = { id: "job_proxy_device", operation: "up" } as Job;
    const device = loadProxyDevice({ dataDir: api.dataDir }).public();
    const stored = {
      cloud: "digitalocean",
      region: "nyc3",
      gatewayCidrs: ["203.0.113.0/24"],
      versions: { openclaw: "2026.9.6", node: "24.15.0" },
      proxyDevice: ProxyDeviceIdentity.generate().public(),
    };
    const prepared = await registrationPreparer(api.app.db, "https://api.example.test", device)(job, row, stored);
    remember(api, ...prepared.secrets);
    expect(prepared.config.proxyDevice).toEqual(device);
    expect(selectJobStack("host", prepared.config).config).toMatchObject({ proxyDevice: device });

    // Without a device given (or for another operation) nothing is added; a stored one never passes.
    const without = await registrationPreparer(api.app.db, "https://api.example.test")(job, row, stored);
    remember(api, ...without.secrets);
    expect(without.config.proxyDevice).toBeUndefined();
    const preview = await registrationPreparer(api.app.db, "https://api.example.test", device)({ ...job, operation: "preview" } as Job, row, { ...stored, proxyDevice: undefined });
    expect(preview.config.proxyDevice).toBeUndefined();
  });

  it.skipIf(skip)("the private key is in no log line and no database", async () => {
    expect(await scanForSecrets(api)).toEqual([]);
  });
});
