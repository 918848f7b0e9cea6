export type {
  Cloud,
  ClawChatBundleInput,
  EncodedUserData,
  GatewayTokenSource,
  HostBootInput,
  RegistrationInput,
} from "./types.js";
export { renderCloudConfig } from "./render.js";
export { encodeUserData, USER_DATA_LIMITS } from "./encode.js";
export {
  buildClawChatBundle,
  bundleSha256,
  CLAWCHAT_BUNDLE_PATH,
  CLAWCHAT_INSTALL_MODES,
  chooseClawChatBundle,
  type ClawChatChoice,
  type ClawChatInstall,
  type ClawChatInstallMode,
  loadClawChatBundle,
  readClawChatBundle,
} from "./bundle.js";
export { planMemory, type MemoryPlan } from "./memory.js";
export { renderUserData } from "./user-data.js";
