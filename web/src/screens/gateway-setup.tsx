/**
 * The instance page's "Model provider" panel (issue 16, first use without a shell): the user types the
 * provider, its base URL, the model and the key; the page signs a setup window with the user's device key
 * (at most an hour; the API and the host check the signature against the pinned keys), connects through
 * the chat proxy asking for admin until the host has approved the upgrade, sets the model with the
 * gateway's `config.patch`, then ends the window at once. The key goes from this page through the proxy to
 * the gateway: never to the API, never stored; the field is emptied when it is done.
 */
import { useState } from "preact/hooks";
import { GrantError } from "../../../core/zero-access/support-grant";
import { signGatewayAdminGrant } from "../../../core/zero-access/gateway-admin-grant";
import { api, ApiError } from "../api";
import { localKeyFor } from "../device-keys";
import { Busy, Field, FormError, useForm } from "../forms";
import { applyModelSetup, modelSetupSchema, type SocketConstructor } from "../gateway-setup";
import type { InstanceView, Me } from "../types";

const FIELDS = ["provider", "baseUrl", "model", "apiKey"] as const;
const WINDOW_MINUTES = 15;

export function GatewaySetup({ instance, me, pinned, noAgent }: { instance: InstanceView; me: Me; pinned: string[] | undefined; noAgent: string | undefined }) {
  const form = useForm({ provider: "", baseUrl: "", model: "", apiKey: "" });
  const { values, errors } = form;
  const [progress, setProgress] = useState<string | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const base = `/v1/instances/${encodeURIComponent(instance.id)}`;
  const ready = instance.registration !== null && instance.status !== "destroyed";
  const blocked = !ready
    ? "The host has not registered yet: its gateway becomes reachable at the end of its first boot."
    : noAgent ?? (pinned !== undefined && pinned.length === 0 ? "No device key is pinned on this instance: it accepts no setup window." : undefined);

  const submit = () =>
    form.submit(modelSetupSchema, values, async (parsed) => {
      setDone(undefined);
      const signer = await localKeyFor(me.id, pinned ?? []);
      if (!signer) throw new Error("This browser holds none of the device keys pinned on this instance: set the model from the device that holds one.");
      let signed;
      try {
        const notBefore = new Date();
        signed = await signGatewayAdminGrant(
          { instanceId: instance.id, reason: `set the model provider ${parsed.provider}`, notBefore, notAfter: new Date(notBefore.getTime() + WINDOW_MINUTES * 60_000) },
          { publicKey: signer.publicKey, signingKey: signer.signing.privateKey },
        );
      } catch (error) {
        if (error instanceof GrantError) throw new ApiError(400, error.message, "body.provider");
        throw error;
      }
      setProgress("Opening a setup window on your host…");
      const grant = await api<{ id: string }>("POST", `${base}/gateway-admin-grants`, signed);
      try {
        const model = await applyModelSetup(parsed, {
          ticketUrl: async () => (await api<{ url: string }>("POST", `${base}/gateway/tickets`)).url,
          Socket: WebSocket as unknown as SocketConstructor,
          onProgress: setProgress,
        });
        form.reset({ provider: parsed.provider, baseUrl: parsed.baseUrl, model: parsed.model, apiKey: "" });
        setDone(
          `The gateway now answers with ${model}. The setup window is closed: your host takes the admin scope back at its next check (within 30 s), and chat through Claw Cloud pauses until the host has paired the proxy again, about a minute later.`,
        );
      } finally {
        setProgress(undefined);
        // The window ends now whatever happened; a failure here is shown, the host ends it at its time anyway.
        await api("DELETE", `${base}/gateway-admin-grants/${encodeURIComponent(grant.id)}`).catch(() => undefined);
      }
    });

  return (
    <section aria-labelledby="gateway-setup-title">
      <h2 id="gateway-setup-title">Model provider</h2>
      <p class="muted">
        Your gateway answers once it has a model. Set an OpenAI-compatible provider here: this page signs a setup window of at most{" "}
        {WINDOW_MINUTES} minutes with your device key, your host lets Claw Cloud's proxy change its configuration only inside it, and the
        key goes from this page to your gateway through the proxy. Claw Cloud never stores or logs it.
      </p>
      {blocked ? (
        <p role="status">{blocked}</p>
      ) : (
        <form
          noValidate
          aria-label="Set the model provider"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <Field label="Provider name" name="provider" value={values.provider} onInput={(v) => form.set("provider", v)} errors={errors} hint="A short name, e.g. openai" />
          <Field label="Base URL" name="baseUrl" value={values.baseUrl} onInput={(v) => form.set("baseUrl", v)} errors={errors} hint="The OpenAI-compatible API, e.g. https://api.openai.com/v1" />
          <Field label="Model" name="model" value={values.model} onInput={(v) => form.set("model", v)} errors={errors} hint="The model's id at that provider" />
          <Field label="API key" name="apiKey" type="password" autocomplete="off" value={values.apiKey} onInput={(v) => form.set("apiKey", v)} errors={errors} hint="Sent to your gateway only" />
          <FormError errors={errors} shown={FIELDS} />
          {progress ? <p role="status">{progress}</p> : null}
          {done ? <p role="status">{done}</p> : null}
          <div class="actions">
            <Busy busy={form.busy}>Set the model</Busy>
          </div>
        </form>
      )}
    </section>
  );
}
