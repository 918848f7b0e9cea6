export type {
  Cloud,
  ClawChatBundleInput,
  EncodedUserData,
  GatewayTokenSource,
  HostBootInput,
  RegistrationInput,
  SupportAccessInput,
  SupportAgentDelivery,
} from "./types.js";
export { renderCloudConfig } from "./render.js";
export { encodeUserData, USER_DATA_LIMITS } from "./encode.js";
export {
  buildClawChatBundle,
  bundleSha256,
  CLAWCHAT_BUNDLE_PATH,
  chooseClawChatBundle,
  type ClawChatChoice,
  type HostCloudConfig,
  loadClawChatBundle,
  readClawChatBundle,
  renderHostCloudConfig,
  USER_DATA_HEADROOM_BYTES,
} from "./bundle.js";
export { planMemory, type MemoryPlan } from "./memory.js";
export { withPublicIpv4, withStateDevicePath } from "./user-data.js";
export { buildSupportBundle, loadSupportBundle, SUPPORT_BUNDLE_FILE } from "./support-bundle.js";
export { supportBundleSha256 } from "./support.js";
