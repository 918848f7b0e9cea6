export { HOST_ARG_DEFAULTS, type HostArgs, type HostOutputs, resolveHostArgs } from "./args.js";
export { AwsHost, type AwsHostArgs } from "./aws.js";
export { hostBootInput, renderUserData, stateDevicePaths } from "./boot.js";
export { DigitalOceanHost, type DigitalOceanHostArgs } from "./digitalocean.js";
export { ingressRules, type IngressRule, splitCidrsByFamily } from "./firewall.js";
export { GcpHost, type GcpHostArgs } from "./gcp.js";
export { awsTags, digitalOceanTags, gcpLabels, MANAGED_BY } from "./tags.js";
