/** Cloud credentials: add (validated with the vault's own schemas), test, delete. A stored value is never shown. */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { credentialInput } from "../../../api/vault/kinds";
import { api, ApiError } from "../api";
import { Busy, Field, FormError, Select, useForm } from "../forms";
import type { Credential } from "../types";

const KINDS = [
  ["digitalocean", "DigitalOcean personal access token"],
  ["aws", "AWS role (ARN and external ID)"],
  ["gcp", "Google Cloud workload identity federation"],
] as const;

type Values = { kind: string; name: string; token: string; roleArn: string; externalId: string; config: string; passphrase: string };
const EMPTY: Values = { kind: "digitalocean", name: "", token: "", roleArn: "", externalId: "", config: "", passphrase: "" };

function inputOf(values: Values): unknown {
  const passphrase = values.passphrase ? { passphrase: values.passphrase } : {};
  switch (values.kind) {
    case "aws":
      return { kind: "aws", name: values.name, roleArn: values.roleArn.trim(), externalId: values.externalId.trim() };
    case "gcp": {
      let config: unknown;
      try {
        config = JSON.parse(values.config);
      } catch {
        throw new ApiError(400, "`config`: paste the external-account configuration JSON", "body.config");
      }
      return { kind: "gcp", name: values.name, config, ...passphrase };
    }
    default:
      return { kind: "digitalocean", name: values.name, token: values.token.trim(), ...passphrase };
  }
}

export function CredentialsScreen() {
  const [credentials, setCredentials] = useState<Credential[] | undefined>();
  const [status, setStatus] = useState<Record<string, string>>({});
  const [busyId, setBusyId] = useState<string | undefined>();
  const form = useForm<Values>(EMPTY);
  const { values, errors } = form;

  const load = async () => setCredentials((await api<{ credentials: Credential[] }>("GET", "/v1/credentials")).credentials);
  useEffect(() => {
    void load();
  }, []);

  const test = async (credential: Credential) => {
    setBusyId(credential.id);
    setStatus((s) => ({ ...s, [credential.id]: "testing…" }));
    try {
      const passphrase = credential.passphraseProtected ? window.prompt(`Passphrase of ${credential.name}`) : undefined;
      const result = await api<{ ok: boolean; detail: string }>("POST", `/v1/credentials/${credential.id}/test`, passphrase ? { passphrase } : {});
      setStatus((s) => ({ ...s, [credential.id]: `${result.ok ? "works" : "does not work"}: ${result.detail}` }));
      await load();
    } catch (error) {
      setStatus((s) => ({ ...s, [credential.id]: error instanceof Error ? error.message : String(error) }));
    } finally {
      setBusyId(undefined);
    }
  };

  const remove = async (credential: Credential) => {
    if (!window.confirm(`Delete the credential “${credential.name}”? Instances using it can no longer be changed.`)) return;
    setBusyId(credential.id);
    try {
      await api("DELETE", `/v1/credentials/${credential.id}`);
      await load();
    } catch (error) {
      setStatus((s) => ({ ...s, [credential.id]: error instanceof Error ? error.message : String(error) }));
    } finally {
      setBusyId(undefined);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>Credentials</h1>
      <p>Cloud credentials are encrypted before they are stored. Their values are never shown again, here or anywhere.</p>
      {credentials === undefined ? (
        <p role="status">Loading…</p>
      ) : credentials.length === 0 ? (
        <p>No credentials yet.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Your credentials</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Protection</th>
              <th scope="col">Last test</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {credentials.map((credential) => (
              <tr key={credential.id}>
                <td>{credential.name}</td>
                <td>{credential.kind}</td>
                <td>{credential.encrypted ? (credential.passphraseProtected ? "encrypted, passphrase" : "encrypted") : "nothing secret stored"}</td>
                <td>
                  <span role="status">
                    {status[credential.id] ?? (credential.lastTestedAt ? `${credential.lastTestOk ? "worked" : "failed"} ${credential.lastTestedAt}` : "never")}
                  </span>
                </td>
                <td class="row-actions">
                  <button type="button" disabled={busyId === credential.id} onClick={() => void test(credential)} aria-label={`Test ${credential.name}`}>
                    Test
                  </button>
                  <button type="button" class="danger" disabled={busyId === credential.id} onClick={() => void remove(credential)} aria-label={`Delete ${credential.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Add a credential</h2>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit(z.unknown(), undefined, async () => {
            const parsed = credentialInput.safeParse(inputOf(values));
            if (!parsed.success) {
              const issue = parsed.error.issues[0]!;
              throw new ApiError(400, issue.message, `body.${issue.path.join(".")}`);
            }
            await api("POST", "/v1/credentials", parsed.data);
            form.reset({ ...EMPTY, kind: values.kind });
            await load();
          });
        }}
      >
        <Select label="Kind" name="kind" value={values.kind} options={KINDS} onInput={(v) => form.set("kind", v)} errors={errors} />
        <Field label="Name" name="name" value={values.name} onInput={(v) => form.set("name", v)} errors={errors} required hint="A label of your choice" />
        {values.kind === "digitalocean" ? (
          <Field label="Token" name="token" type="password" autocomplete="off" value={values.token} onInput={(v) => form.set("token", v)} errors={errors} required hint="dop_v1_ and 64 hex characters" />
        ) : null}
        {values.kind === "aws" ? (
          <>
            <Field label="Role ARN" name="roleArn" value={values.roleArn} onInput={(v) => form.set("roleArn", v)} errors={errors} required hint="arn:aws:iam::123456789012:role/claw-provisioner" />
            <Field label="External ID" name="externalId" value={values.externalId} onInput={(v) => form.set("externalId", v)} errors={errors} required />
          </>
        ) : null}
        {values.kind === "gcp" ? (
          <Field label="External-account configuration (JSON)" name="config" multiline value={values.config} onInput={(v) => form.set("config", v)} errors={errors} required />
        ) : null}
        {values.kind !== "aws" ? (
          <Field
            label="Passphrase (optional)"
            name="passphrase"
            type="password"
            autocomplete="new-password"
            value={values.passphrase}
            onInput={(v) => form.set("passphrase", v)}
            errors={errors}
            hint="With a passphrase only you can decrypt it, and every use asks for it. A lost passphrase cannot be recovered."
          />
        ) : null}
        <FormError errors={errors} shown={["kind", "name", "token", "roleArn", "externalId", "config", "passphrase"]} />
        <Busy busy={form.busy}>Add credential</Busy>
      </form>
    </section>
  );
}
