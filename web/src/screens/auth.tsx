/** Sign in, and register with an invitation. */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { email, opaqueToken, password, presentedPassword } from "../../../api/http/schemas";
import { publicApi, signIn } from "../api";
import { Busy, Field, FormError, useForm } from "../forms";
import { navigate } from "../router";

const signInBody = z.strictObject({ email, password: presentedPassword });
/** `INVITE_PREFIX` of api/auth/invites-repo.ts (that module needs node:crypto, so it is not bundled). */
const INVITE_PREFIX = "csi_";
/** The body of `POST /v1/auth/register` (api/routes/auth.ts), built from the same field schemas. */
const registerBody = z.strictObject({ email, password, invite: opaqueToken(INVITE_PREFIX, "an invitation token") });

export function SignInScreen({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const form = useForm({ email: "", password: "" });
  const { values, errors } = form;
  return (
    <section class="narrow">
      <h1 tabIndex={-1}>Sign in</h1>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit(signInBody, values, async (body) => {
            await signIn(body.email, body.password);
            await onSignedIn();
            navigate("/instances");
          });
        }}
      >
        <Field label="Email" name="email" type="email" autocomplete="username" value={values.email} onInput={(v) => form.set("email", v)} errors={errors} required />
        <Field label="Password" name="password" type="password" autocomplete="current-password" value={values.password} onInput={(v) => form.set("password", v)} errors={errors} required />
        <FormError errors={errors} shown={["email", "password"]} />
        <Busy busy={form.busy}>Sign in</Busy>
      </form>
      <p>
        Invited? <a href="#/register">Create your account</a> with the invitation token an admin gave you.
      </p>
    </section>
  );
}

export function RegisterScreen({ invite, email: invitedEmail }: { invite: string; email: string }) {
  const form = useForm({ email: invitedEmail, password: "", confirm: "", invite });
  const [done, setDone] = useState(false);
  const { values, errors } = form;
  // The invitation link carries the token: keep it in the form, out of the address bar and the history.
  useEffect(() => {
    if (invite) history.replaceState(null, "", "#/register");
  }, []);
  if (done) {
    return (
      <section class="narrow">
        <h1 tabIndex={-1}>Account created</h1>
        <p role="status">Your account {values.email} is ready.</p>
        <p>
          <a href="#/sign-in">Sign in</a>
        </p>
      </section>
    );
  }
  return (
    <section class="narrow">
      <h1 tabIndex={-1}>Create your account</h1>
      <p>Registration needs an invitation from an admin: paste the token you were sent.</p>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const { confirm, ...body } = values;
          void form.submit(
            registerBody.refine(() => confirm === body.password, { message: "the two passwords differ", path: ["confirm"] }),
            body,
            async (parsed) => {
              await publicApi("POST", "/v1/auth/register", parsed);
              setDone(true);
            },
          );
        }}
      >
        <Field label="Invitation token" name="invite" value={values.invite} onInput={(v) => form.set("invite", v)} errors={errors} required hint="Starts with csi_" />
        <Field label="Email" name="email" type="email" autocomplete="username" value={values.email} onInput={(v) => form.set("email", v)} errors={errors} required hint="The address the invitation was made for" />
        <Field label="Password" name="password" type="password" autocomplete="new-password" value={values.password} onInput={(v) => form.set("password", v)} errors={errors} required hint="At least 12 characters" />
        <Field label="Password again" name="confirm" type="password" autocomplete="new-password" value={values.confirm} onInput={(v) => form.set("confirm", v)} errors={errors} required />
        <FormError errors={errors} shown={["invite", "email", "password", "confirm"]} />
        <Busy busy={form.busy}>Create account</Busy>
      </form>
      <p>
        Already registered? <a href="#/sign-in">Sign in</a>.
      </p>
    </section>
  );
}
