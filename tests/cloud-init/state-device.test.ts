import { describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors.js";
import { renderCloudConfig, withStateDevicePath } from "../../cloud-init/index.js";
import { INPUTS } from "./fixtures.js";

const STAND_IN = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol00000000000000000";
const REAL = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0";

describe("withStateDevicePath (an AWS host's user-data is rendered once, before its volume id exists)", () => {
  it("gives exactly the text a render with the real path gives", () => {
    const once = renderCloudConfig({ ...INPUTS.aws, stateDisk: { devicePath: STAND_IN } });
    expect(withStateDevicePath(once, STAND_IN, REAL)).toBe(renderCloudConfig({ ...INPUTS.aws, stateDisk: { devicePath: REAL } }));
  });

  it("refuses a path the renderer's guard refuses, naming the key", () => {
    const once = renderCloudConfig({ ...INPUTS.aws, stateDisk: { devicePath: STAND_IN } });
    expect(() => withStateDevicePath(once, STAND_IN, "/dev/x'; reboot")).toThrow(ConfigError);
    expect(() => withStateDevicePath(once, STAND_IN, "/dev/x'; reboot")).toThrow(/`stateDisk.devicePath`/);
  });
});
