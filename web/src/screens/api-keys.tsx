/** Agent API keys: create (the key is shown once), scopes, revoke. */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { SCOPES } from "../../../api/auth/principal";
import { trimmedText } from "../../../api/http/schemas";
import { api } from "../api";
import { Busy, Field, FormError, useForm } from "../forms";
import type { ApiKey } from "../types";

/** The body of `POST /v1/api-keys` (api/routes/api-keys.ts), from the same field schemas. */
const createBody = z.strictObject({
  name: trimmedText(1, 100),
  scopes: z.array(z.enum(SCOPES)).min(1, "choose at least one scope").max(SCOPES.length),
  expiresInDays: z.number().int().min(1).max(365).optional(),
});

export function ApiKeysScreen() {
  const [keys, setKeys] = useState<ApiKey[] | undefined>();
  const [created, setCreated] = useState<{ name: string; key: string } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const form = useForm<{ name: string; scopes: string[]; expiresInDays: string }>({ name: "", scopes: ["account:read"], expiresInDays: "90" });
  const { values, errors } = form;
  const load = async () => setKeys((await api<{ apiKeys: ApiKey[] }>("GET", "/v1/api-keys")).apiKeys);
  useEffect(() => {
    void load();
  }, []);

  const revoke = async (key: ApiKey) => {
    if (!window.confirm(`Revoke the key “${key.name}” (${key.prefix})? Agents using it stop at once.`)) return;
    try {
      await api("DELETE", `/v1/api-keys/${key.id}`);
      await load();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  const toggle = (scope: string, on: boolean) =>
    form.set("scopes", on ? [...values.scopes, scope] : values.scopes.filter((s) => s !== scope));

  return (
    <section>
      <h1 tabIndex={-1}>API keys</h1>
      <p>Keys let an agent act for you with the scopes you give it, never as admin. A key is shown once, when it is created.</p>
      {created ? (
        <div class="notice" role="status">
          <p>
            The key <strong>{created.name}</strong>: copy it now, it is not shown again.
          </p>
          <pre class="code" tabIndex={0} aria-label="The new API key">
            {created.key}
          </pre>
          <button type="button" onClick={() => setCreated(undefined)}>
            I have stored it
          </button>
        </div>
      ) : null}
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {keys === undefined ? (
        <p role="status">Loading…</p>
      ) : keys.length === 0 ? (
        <p>No keys yet.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Your API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>
                  <code>{key.prefix}</code>
                </td>
                <td>{key.scopes.join(", ")}</td>
                <td>{key.expiresAt ?? "never"}</td>
                <td>{key.lastUsedAt ?? "never"}</td>
                <td>
                  {key.revokedAt ? (
                    `revoked ${key.revokedAt}`
                  ) : (
                    <button type="button" class="danger" onClick={() => void revoke(key)} aria-label={`Revoke ${key.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Create a key</h2>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const body = { name: values.name, scopes: values.scopes, ...(values.expiresInDays ? { expiresInDays: Number(values.expiresInDays) } : {}) };
          void form.submit(createBody, body, async (parsed) => {
            const answer = await api<ApiKey & { key: string }>("POST", "/v1/api-keys", parsed);
            setCreated({ name: answer.name, key: answer.key });
            form.reset({ name: "", scopes: ["account:read"], expiresInDays: "90" });
            await load();
          });
        }}
      >
        <Field label="Name" name="name" value={values.name} onInput={(v) => form.set("name", v)} errors={errors} required />
        <fieldset aria-describedby={errors.scopes ? "scopes-error" : undefined}>
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} class="check">
              <input type="checkbox" checked={values.scopes.includes(scope)} onChange={(event) => toggle(scope, (event.currentTarget as HTMLInputElement).checked)} />
              {scope}
            </label>
          ))}
          {errors.scopes ? (
            <p class="error" id="scopes-error" role="alert">
              {errors.scopes}
            </p>
          ) : null}
        </fieldset>
        <Field label="Expires in days (empty: never)" name="expiresInDays" type="number" value={values.expiresInDays} onInput={(v) => form.set("expiresInDays", v)} errors={errors} />
        <FormError errors={errors} shown={["name", "scopes", "expiresInDays"]} />
        <Busy busy={form.busy}>Create key</Busy>
      </form>
    </section>
  );
}
