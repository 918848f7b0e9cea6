/**
 * The terminal follower of a job: reads `GET /v1/jobs/:id/events` (SSE),
 * prints one readable line per event, reconnects after a dropped connection
 * with `Last-Event-ID` (so nothing is printed twice or skipped), and returns
 * the job's final state.
 */

export interface FollowOptions {
  apiUrl: string;
  token: string;
  jobId: string;
  /** Start after this event id. */
  after?: number;
  write: (line: string) => void;
  /** Reconnect attempts after a dropped stream (default 20). */
  maxReconnects?: number;
  /** For tests. */
  fetchImpl?: typeof fetch;
}

export interface ParsedEvent {
  id: number | undefined;
  event: string;
  data: Record<string, unknown>;
}

/** Splits an SSE text chunk stream into events; keeps the unfinished tail in `buffer`. */
export function parseSse(buffer: string): { events: ParsedEvent[]; rest: string } {
  const blocks = buffer.split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: ParsedEvent[] = [];
  for (const block of blocks) {
    let id: number | undefined;
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = Number(value);
      else if (field === "event") event = value;
      else if (field === "data") data += value;
    }
    if (!data) continue;
    try {
      events.push({ id, event, data: JSON.parse(data) as Record<string, unknown> });
    } catch {
      events.push({ id, event, data: { text: data } });
    }
  }
  return { events, rest };
}

const PHASE_MARK: Record<string, string> = { start: "…", done: "✓", failed: "✗" };

/** One line for a terminal. Pure: the tests pin it. */
export function formatEvent(event: ParsedEvent): string {
  const d = event.data;
  const time = typeof d.at === "string" ? d.at.slice(11, 19) : "        ";
  const prefix = `${time} ${event.id !== undefined ? `#${event.id}`.padEnd(5) : "     "}`;
  switch (event.event) {
    case "state":
      return `${prefix} ${String(d.state)} (attempt ${String(d.attempt)})${d.message ? `: ${String(d.message)}` : ""}`;
    case "log":
      return `${prefix}   ${String(d.line)}`;
    case "progress": {
      const p = (d.event ?? {}) as Record<string, unknown>;
      if (p.type === "resource") {
        const name = String(p.urn ?? "").split("::").pop();
        return `${prefix} ${PHASE_MARK[String(p.phase)] ?? "·"} ${String(p.op)} ${String(p.resourceType)} ${name}`;
      }
      if (p.type === "diagnostic") return `${prefix} ${String(p.severity)}: ${String(p.message)}`;
      if (p.type === "policy") return `${prefix} policy ${String(p.level)} ${String(p.policy)}: ${String(p.message)}`;
      if (p.type === "summary") {
        const changes = Object.entries((p.changes ?? {}) as Record<string, number>).map(([op, count]) => `${op} ${count}`);
        return `${prefix} summary: ${changes.join(", ") || "no changes"}`;
      }
      return `${prefix} ${String(p.message ?? p.type)}`;
    }
    case "result":
      return `${prefix} ${d.state === "succeeded" ? "✓" : "✗"} ${String(d.state)}${d.error ? `: ${String(d.error)}` : ""}`;
    case "end":
      return `job ${String(d.state)}`;
    default:
      return `${prefix} ${event.event} ${JSON.stringify(d)}`;
  }
}

/** Follows until the stream says `end`; returns the job's final state. */
export async function followJob(options: FollowOptions): Promise<string> {
  const doFetch = options.fetchImpl ?? fetch;
  let after = options.after ?? 0;
  let reconnects = 0;
  for (;;) {
    let response: Response;
    try {
      response = await doFetch(`${options.apiUrl.replace(/\/+$/, "")}/v1/jobs/${encodeURIComponent(options.jobId)}/events`, {
        headers: { authorization: `Bearer ${options.token}`, accept: "text/event-stream", ...(after > 0 ? { "last-event-id": String(after) } : {}) },
      });
    } catch (error) {
      if (++reconnects > (options.maxReconnects ?? 20)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    if (response.status !== 200) {
      const body = (await response.json().catch(() => ({}))) as { message?: string };
      throw new Error(`GET events: ${response.status} ${body.message ?? response.statusText}`);
    }
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const parsed = parseSse(buffer);
        buffer = parsed.rest;
        for (const event of parsed.events) {
          options.write(formatEvent(event));
          if (event.id !== undefined) after = event.id;
          if (event.event === "end") return String(event.data.state);
        }
      }
    } catch {
      // The connection dropped: reconnect below, resuming after the last id seen.
    }
    if (++reconnects > (options.maxReconnects ?? 20)) throw new Error("the event stream kept dropping; giving up");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
