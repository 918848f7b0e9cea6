import { encodeUserData } from "./encode.js";
import { renderCloudConfig } from "./render.js";
import type { EncodedUserData, HostBootInput } from "./types.js";

/** Renders the cloud-config and encodes it for `input.cloud`, refusing anything over the cloud's budget. */
export function renderUserData(input: HostBootInput): { cloudConfig: string; userData: EncodedUserData } {
  const cloudConfig = renderCloudConfig(input);
  return { cloudConfig, userData: encodeUserData(input.cloud, cloudConfig) };
}
