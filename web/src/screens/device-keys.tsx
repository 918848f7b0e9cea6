/**
 * Device keys (issue 17): the user's own keys, which sign support-access grants and open the
 * ClawChat keys a host seals to them. Made in this browser, non-extractable, kept in IndexedDB;
 * the API (and so the provider) receives the public halves only.
 */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { trimmedText } from "../../../api/http/schemas";
import { api } from "../api";
import { createDeviceKey, type DeviceKeyView, forgetLocalKey, type LocalDeviceKey, localKeys } from "../device-keys";
import { Busy, Field, FormError, useForm } from "../forms";
import type { Me } from "../types";

/** The name part of `POST /v1/me/device-keys` (the key itself is made here, not typed). */
const nameBody = z.strictObject({ name: trimmedText(1, 100) });

/** A hint for the key's name: the browser and system, as the browser says them. */
function defaultName(): string {
  const agent = navigator.userAgent;
  const browser = /Firefox\//.test(agent) ? "Firefox" : /Edg\//.test(agent) ? "Edge" : /Chrom(e|ium)\//.test(agent) ? "Chromium" : /Safari\//.test(agent) ? "Safari" : "Browser";
  const system = /Windows/.test(agent) ? "Windows" : /Mac OS X/.test(agent) ? "macOS" : /Android/.test(agent) ? "Android" : /Linux/.test(agent) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

export async function loadDeviceKeys(): Promise<DeviceKeyView[]> {
  return (await api<{ items: DeviceKeyView[] }>("GET", "/v1/me/device-keys")).items;
}

export function DeviceKeysScreen({ me }: { me: Me }) {
  const [keys, setKeys] = useState<DeviceKeyView[] | undefined>();
  const [local, setLocal] = useState<LocalDeviceKey[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [made, setMade] = useState<string | undefined>();
  const form = useForm({ name: defaultName() });
  const { values, errors } = form;

  const load = async () => {
    try {
      const [listed, held] = await Promise.all([loadDeviceKeys(), localKeys(me.id)]);
      setKeys(listed);
      setLocal(held);
      setProblem(undefined);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const revoke = async (key: DeviceKeyView) => {
    const here = local.some((held) => held.fingerprint === key.fingerprint);
    const consequence = here ? " Its private half is deleted from this browser too." : "";
    if (!window.confirm(`Revoke the device key “${key.name}” (${key.fingerprint})? New instances will not pin it; instances that already pinned it keep trusting it until they are re-created.${consequence}`)) return;
    try {
      await api("DELETE", `/v1/me/device-keys/${encodeURIComponent(key.id)}`);
      if (here) await forgetLocalKey(key.fingerprint);
      await load();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  const heldHere = new Set(local.map((key) => key.fingerprint));
  const active = keys?.filter((key) => key.revokedAt === null) ?? [];
  return (
    <section>
      <h1 tabIndex={-1}>Device keys</h1>
      <p>
        A device key signs your support-access grants and opens the ClawChat keys your hosts seal to you. It is made in this browser and
        its private half cannot leave it: Claw Cloud only ever receives the public half, so the provider never sees the private half.
      </p>
      <p class="muted">
        New instances pin your active device keys when they are created (their fingerprints are shown on the instance page); a key made
        later does not reach instances that already exist.
      </p>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {made ? (
        <p class="notice" role="status">
          Device key made in this browser and registered: <code class="wrap">{made}</code>
        </p>
      ) : null}
      {keys === undefined ? (
        <p role="status">Loading…</p>
      ) : keys.length === 0 ? (
        <p>No device key yet.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Your device keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Fingerprint</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id} data-fingerprint={key.fingerprint}>
                <td>
                  {key.name}
                  {heldHere.has(key.fingerprint) ? (
                    <>
                      {" "}
                      <span class="badge this-browser">this browser</span>
                    </>
                  ) : null}
                </td>
                <td>
                  <code class="wrap">{key.fingerprint}</code>
                </td>
                <td>{key.createdAt}</td>
                <td>{key.revokedAt ? `revoked ${key.revokedAt}` : "active"}</td>
                <td>
                  {key.revokedAt ? null : (
                    <button type="button" class="secondary" aria-label={`Revoke ${key.name}`} onClick={() => void revoke(key)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {local.length > 0 && keys !== undefined && !local.some((held) => active.some((key) => key.fingerprint === held.fingerprint)) ? (
        <p class="muted">This browser holds only revoked keys: make a new one to sign grants here.</p>
      ) : null}

      <h2>Make a device key in this browser</h2>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit(nameBody, { name: values.name }, async ({ name }) => {
            setMade(undefined);
            const key = await createDeviceKey(me.id, name);
            setMade(key.fingerprint);
            await load();
          });
        }}
      >
        <Field label="Name of this device" name="name" value={values.name} onInput={(v) => form.set("name", v)} errors={errors} hint="Shown in your list, e.g. Laptop, Chromium" />
        <FormError errors={errors} shown={["name"]} />
        <Busy busy={form.busy}>Make a device key</Busy>
      </form>
    </section>
  );
}
