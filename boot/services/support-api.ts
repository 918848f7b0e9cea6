import type { IncomingMessage, ServerResponse } from "node:http";
import type { SealedBox } from "../../core/zero-access/sealed-box.js";
import type { SignedGrant } from "../../core/zero-access/support-grant.js";
import type { CommandRecord } from "../../support/protocol.js";

/** One command as the host's agent uploads it: the agent's own record type. */
export type UploadedCommand = CommandRecord;

/**
 * The API's host endpoints for support access (docs/zero-access.md), as the boot
 * harness's stand-in serves them: the grants the test hands out, what the host
 * sends back. Authenticated by the host credential the host sent at registration.
 * `down` makes every host call fail (connection dropped), as an unreachable API.
 */
export class SupportApiStandIn {
  grants: (SignedGrant & { id: string })[] = [];
  revoked: string[] = [];
  commands: UploadedCommand[] = [];
  boxes: SealedBox[] = [];
  polls = 0;
  down = false;

  constructor(private readonly hostTokenOf: (instanceId: string) => string | undefined) {}

  /** Handles `/v1/host/instances/:id/...`; false when the path is not one of them. */
  handle(request: IncomingMessage, response: ServerResponse, body: string): boolean {
    const match = /^\/v1\/host\/instances\/(inst_[0-9a-f]{32})\/(support-grants|support-commands|clawchat-keys)$/.exec(request.url ?? "");
    if (!match) return false;
    if (this.down) {
      request.socket.destroy();
      return true;
    }
    const token = this.hostTokenOf(match[1]!);
    if (!token || request.headers.authorization !== `Bearer ${token}`) {
      response.writeHead(401).end();
      return true;
    }
    const route = `${request.method} ${match[2]}`;
    if (route === "GET support-grants") {
      this.polls += 1;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ grants: this.grants, revoked: this.revoked, now: new Date().toISOString() }));
    } else if (route === "POST support-commands") {
      for (const entry of (JSON.parse(body) as { entries: UploadedCommand[] }).entries) {
        if (!this.commands.some((seen) => seen.seq === entry.seq)) this.commands.push(entry);
      }
      response.writeHead(204).end();
    } else if (route === "PUT clawchat-keys") {
      this.boxes.push((JSON.parse(body) as { box: SealedBox }).box);
      response.writeHead(204).end();
    } else {
      response.writeHead(405).end();
    }
    return true;
  }
}
