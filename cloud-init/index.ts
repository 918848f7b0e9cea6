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
export { CLAWCHAT_BUNDLE_PATH, chooseClawChatBundle, readClawChatBundle } from "./bundle.js";
export { planMemory, type MemoryPlan } from "./memory.js";
export { renderUserData } from "./user-data.js";
