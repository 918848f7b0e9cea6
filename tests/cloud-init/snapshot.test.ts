import { describe, expect, it } from "vitest";
import { renderCloudConfig } from "../../cloud-init/index.js";
import { CLOUDS, INPUTS, STAND_IN_BUNDLE } from "./fixtures.js";

/**
 * The whole rendered cloud-config per cloud, pinned in a readable file next to
 * this test: any change to what a host runs at first boot shows up in review
 * as a diff of these files (update them with `npx vitest run -u` on purpose).
 */
describe("rendered cloud-config snapshots", () => {
  for (const cloud of CLOUDS) {
    it(`${cloud}`, async () => {
      const text = renderCloudConfig({ ...INPUTS[cloud], clawchatBundle: { kind: "embedded", bundle: STAND_IN_BUNDLE } });
      await expect(text).toMatchFileSnapshot(`./__snapshots__/${cloud}.cloud-config.yaml`);
    });
  }

  it("is deterministic: the same input renders the same bytes", () => {
    for (const cloud of CLOUDS) expect(renderCloudConfig(INPUTS[cloud])).toBe(renderCloudConfig(INPUTS[cloud]));
  });
});
