/** The audit log: your own entries (metadata only), filterable by action, paged. */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { text } from "../../../api/http/schemas";
import { api } from "../api";
import { Field, FormError, useForm } from "../forms";
import type { AuditEntry } from "../types";

/** The `action` filter of `GET /v1/audit` (api/routes/audit.ts): text without control characters; empty means all. */
const filterQuery = z.strictObject({ action: z.union([z.literal(""), text(1, 200)]) });

export function AuditTable({ entries, caption }: { entries: AuditEntry[]; caption: string }) {
  return (
    <table>
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Action</th>
          <th scope="col">Result</th>
          <th scope="col">Target</th>
          <th scope="col">By</th>
          <th scope="col">Address</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => (
          <tr key={entry.id}>
            <td>{entry.at}</td>
            <td>
              <code>{entry.action}</code>
            </td>
            <td>
              {entry.result}
              {entry.statusCode ? ` (${entry.statusCode})` : ""}
            </td>
            <td>{entry.target ?? "—"}</td>
            <td>{entry.apiKeyId ? `agent ${entry.apiKeyId}` : entry.actorKind}</td>
            <td>{entry.ip ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AuditScreen() {
  const [entries, setEntries] = useState<AuditEntry[] | undefined>();
  const [filter, setFilter] = useState("");
  const form = useForm({ action: "" });
  const load = async (action: string, before?: number) => {
    const query = new URLSearchParams({ limit: "50" });
    if (action) query.set("action", action);
    if (before) query.set("before", String(before));
    const page = (await api<{ entries: AuditEntry[] }>("GET", `/v1/audit?${query.toString()}`)).entries;
    setEntries((current) => (before && current ? [...current, ...page] : page));
  };
  useEffect(() => {
    void load("");
  }, []);
  return (
    <section>
      <h1 tabIndex={-1}>Audit log</h1>
      <p>Everything done with your account: metadata only (never a body, a secret or a message).</p>
      <form
        noValidate
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit(filterQuery, { action: form.values.action.trim() }, async ({ action }) => {
            setFilter(action);
            await load(action);
          });
        }}
      >
        <Field label="Action" name="action" value={form.values.action} onInput={(v) => form.set("action", v)} errors={remap(form.errors)} hint="e.g. auth.login or instance.create" />
        <button type="submit">Filter</button>
      </form>
      <FormError errors={remap(form.errors)} shown={["action"]} />
      {entries === undefined ? (
        <p role="status">Loading…</p>
      ) : entries.length === 0 ? (
        <p>No entries{filter ? ` for ${filter}` : ""}.</p>
      ) : (
        <>
          <AuditTable entries={entries} caption="Your audit entries" />
          {entries.length % 50 === 0 ? (
            <button type="button" onClick={() => void load(filter, entries.at(-1)?.id)}>
              Older entries
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}

/** The API names query fields `querystring.action`. */
function remap(errors: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([key, value]) => [key.replace(/^querystring\./, ""), value]));
}
