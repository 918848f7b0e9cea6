/** The account: change the password, sign out everywhere, delete the account. */
import { useState } from "preact/hooks";
import { z } from "zod";
import { password, presentedPassword } from "../../../api/http/schemas";
import { api, endedByServer } from "../api";
import { Busy, Field, FormError, useForm } from "../forms";
import type { Me } from "../types";

/** Bodies of `POST /v1/me/password` and `DELETE /v1/me` (api/routes/me.ts), from the same field schemas. */
const passwordBody = z.strictObject({ currentPassword: presentedPassword, newPassword: password, keepApiKeys: z.boolean() });
const deleteBody = z.strictObject({ password: presentedPassword });

export function AccountScreen({ me }: { me: Me }) {
  const change = useForm({ currentPassword: "", newPassword: "", keepApiKeys: false });
  const everywhere = useForm({ keepApiKeys: false });
  const removal = useForm({ password: "", confirm: "" });
  const [message, setMessage] = useState<string | undefined>();

  return (
    <section>
      <h1 tabIndex={-1}>Account</h1>
      <dl class="facts">
        <dt>Email</dt>
        <dd>{me.email}</dd>
        <dt>Role</dt>
        <dd>{me.role}</dd>
        <dt>Plan</dt>
        <dd>{me.plan}</dd>
        <dt>Since</dt>
        <dd>{me.createdAt}</dd>
      </dl>
      {message ? (
        <p class="notice" role="status">
          {message}
        </p>
      ) : null}

      <h2>Change password</h2>
      <p>Changing it signs you out everywhere, this browser included.</p>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void change.submit(passwordBody, change.values, async (body) => {
            await api("POST", "/v1/me/password", body);
            await endedByServer();
          });
        }}
      >
        <Field label="Current password" name="currentPassword" type="password" autocomplete="current-password" value={change.values.currentPassword} onInput={(v) => change.set("currentPassword", v)} errors={change.errors} required />
        <Field label="New password" name="newPassword" type="password" autocomplete="new-password" value={change.values.newPassword} onInput={(v) => change.set("newPassword", v)} errors={change.errors} required hint="At least 12 characters" />
        <label class="check">
          <input type="checkbox" checked={change.values.keepApiKeys} onChange={(event) => change.set("keepApiKeys", (event.currentTarget as HTMLInputElement).checked)} />
          Keep my agent API keys working (otherwise they are all revoked)
        </label>
        <FormError errors={change.errors} shown={["currentPassword", "newPassword"]} />
        <Busy busy={change.busy}>Change password</Busy>
      </form>

      <h2>Sign out everywhere</h2>
      <p>Ends every session of this account on every device, this one included.</p>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void everywhere.submit(z.strictObject({ keepApiKeys: z.boolean() }), everywhere.values, async (body) => {
            const answer = await api<{ apiKeysRevoked: number }>("POST", "/v1/me/sign-out-everywhere", body);
            setMessage(`Signed out everywhere; ${answer.apiKeysRevoked} API keys revoked.`);
            await endedByServer();
          });
        }}
      >
        <label class="check">
          <input type="checkbox" checked={everywhere.values.keepApiKeys} onChange={(event) => everywhere.set("keepApiKeys", (event.currentTarget as HTMLInputElement).checked)} />
          Keep my agent API keys working (otherwise they are all revoked)
        </label>
        <FormError errors={everywhere.errors} shown={[]} />
        <Busy busy={everywhere.busy}>Sign out everywhere</Busy>
      </form>

      <section class="danger" aria-labelledby="delete-title">
        <h2 id="delete-title">Delete the account</h2>
        <p>What goes, at once and for good:</p>
        <ul>
          <li>your account, your sessions and your agent API keys;</li>
          <li>your cloud credentials: the key they were encrypted with is destroyed, so no copy of them can be decrypted again (copies in database backups made before today included, once the operator retires the old master key);</li>
          <li>the API's records of your instances.</li>
        </ul>
        <p>What stays:</p>
        <ul>
          <li>
            <strong>the machines in your cloud</strong>: deleting the account does not destroy them. Destroy your instances first if you want them
            gone;
          </li>
          <li>the audit log entries about your account (metadata only: times, actions, addresses; never a secret or a message), kept for security.</li>
        </ul>
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            const { confirm, ...body } = removal.values;
            void removal.submit(
              deleteBody.refine(() => confirm === me.email, { message: "type your email exactly to confirm", path: ["confirm"] }),
              body,
              async (parsed) => {
                await api("DELETE", "/v1/me", parsed);
                await endedByServer();
              },
            );
          }}
        >
          <Field label="Password" name="password" type="password" autocomplete="current-password" value={removal.values.password} onInput={(v) => removal.set("password", v)} errors={removal.errors} required />
          <Field label={`Type ${me.email} to confirm`} name="confirm" value={removal.values.confirm} onInput={(v) => removal.set("confirm", v)} errors={removal.errors} required />
          <FormError errors={removal.errors} shown={["password", "confirm"]} />
          <button type="submit" class="danger" disabled={removal.busy}>
            Delete my account
          </button>
        </form>
      </section>
    </section>
  );
}
