/** Where the registration token sits on the host until registration succeeds (root only, deleted after). */
export const REGISTRATION_TOKEN_FILE = "/etc/clawstack/registration-token";
