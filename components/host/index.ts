export { type HostArgs, type HostOutputs, type HostSources, type KnownHostArgs, resolveHostArgs, type ResolvedHostArgs, withKnownSources } from "./args.js";
export { AwsHost, type AwsHostArgs } from "./aws.js";
export { hostBootInput, hostUserData, type HostUserData, stateDevicePaths, withDevicePath } from "./boot.js";
export { DigitalOceanHost, type DigitalOceanHostArgs } from "./digitalocean.js";
export { ingressRules, type IngressRule, splitCidrsByFamily } from "./firewall.js";
export { GcpHost, type GcpHostArgs } from "./gcp.js";
export { awsTags, digitalOceanTags, gcpLabels, MANAGED_BY } from "./tags.js";
