/**
 * Every route plugin of the API, registered in this order by `buildApp`.
 * Add a plugin by importing it and appending it to `routePlugins` (one line).
 * A route plugin is a `FastifyPluginAsyncZod` that declares full paths
 * (`/v1/...`), zod schemas for params/query/body/response (they become the
 * OpenAPI document), and puts each route in its route group
 * (`scopedGroup`, `userGroup`, `adminGroup`: api/auth/route-groups.ts).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { adminRoutes } from "./admin";
import { apiKeyRoutes } from "./api-keys";
import { auditRoutes } from "./audit";
import { authRoutes } from "./auth";
import { credentialRoutes } from "./credentials";
import { gatewayTokenRoutes } from "./gateway-tokens";
import { healthRoutes } from "./health";
import { instanceRoutes } from "./instances";
import { instanceExtraRoutes } from "./instance-extras";
import { instanceSnapshotRoutes } from "./instance-snapshots";
import { jobRoutes } from "./jobs";
import { meRoutes } from "./me";
import { proxyRoutes } from "../proxy/plugin";
import { supportRoutes } from "../support/routes";

export const routePlugins: FastifyPluginAsyncZod[] = [
  healthRoutes,
  authRoutes,
  meRoutes,
  apiKeyRoutes,
  credentialRoutes,
  auditRoutes,
  adminRoutes,
  instanceRoutes,
  instanceExtraRoutes,
  instanceSnapshotRoutes,
  jobRoutes,
  gatewayTokenRoutes,
  proxyRoutes,
  supportRoutes,
];
