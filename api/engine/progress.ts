/**
 * Turns Pulumi engine events into the compact progress records stored as job
 * events. Only what a follower needs is kept: step kind, URN, type, severity,
 * message. Resource inputs and outputs are dropped (they may hold secrets).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { ProgressEvent } from "./types";

export function toProgressEvent(event: EngineEvent): ProgressEvent | undefined {
  if (event.resourcePreEvent) {
    const { metadata } = event.resourcePreEvent;
    return { type: "resource", phase: "start", op: metadata.op, urn: metadata.urn, resourceType: metadata.type };
  }
  if (event.resOutputsEvent) {
    const { metadata } = event.resOutputsEvent;
    return { type: "resource", phase: "done", op: metadata.op, urn: metadata.urn, resourceType: metadata.type };
  }
  if (event.resOpFailedEvent) {
    const { metadata } = event.resOpFailedEvent;
    return { type: "resource", phase: "failed", op: metadata.op, urn: metadata.urn, resourceType: metadata.type };
  }
  if (event.diagnosticEvent) {
    const { severity, message, urn } = event.diagnosticEvent;
    if (event.diagnosticEvent.ephemeral) return undefined;
    const level = severity === "warning" ? "warning" : severity === "error" ? "error" : "info";
    return { type: "diagnostic", severity: level, message: message.trimEnd(), ...(urn ? { urn } : {}) };
  }
  if (event.policyEvent) {
    const { enforcementLevel, policyName, message, resourceUrn } = event.policyEvent;
    return {
      type: "policy",
      level: enforcementLevel,
      policy: policyName,
      message,
      ...(resourceUrn ? { urn: resourceUrn } : {}),
    };
  }
  if (event.summaryEvent) {
    const changes: Record<string, number> = {};
    for (const [op, count] of Object.entries(event.summaryEvent.resourceChanges)) {
      if (typeof count === "number") changes[op] = count;
    }
    return { type: "summary", changes, durationSeconds: event.summaryEvent.durationSeconds };
  }
  return undefined;
}
