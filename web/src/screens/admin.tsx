/** Administration: invitations, plans, users (role admin only; the API refuses everyone else). */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { email } from "../../../api/http/schemas";
import { api } from "../api";
import { Busy, Field, FormError, useForm } from "../forms";
import type { Invite, Plan, User } from "../types";

/** Bodies of `POST /v1/admin/invites` and `PUT /v1/admin/plans/:id` (api/routes/admin.ts), from the same field schemas. */
const inviteBody = z.strictObject({ email, expiresInDays: z.number().int().min(1).max(30) });

export function AdminScreen() {
  const [invites, setInvites] = useState<Invite[]>([]);
  const [plans, setPlans] = useState<Plan[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [created, setCreated] = useState<{ email: string; token: string } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const invite = useForm({ email: "", expiresInDays: "7" });

  const load = async () => {
    const [i, p, u] = await Promise.all([
      api<{ invites: Invite[] }>("GET", "/v1/admin/invites"),
      api<{ plans: Plan[] }>("GET", "/v1/admin/plans"),
      api<{ users: User[] }>("GET", "/v1/admin/users"),
    ]);
    setInvites(i.invites);
    setPlans(p.plans);
    setUsers(u.users);
  };
  useEffect(() => {
    void load().catch((error: unknown) => setProblem(String(error)));
  }, []);

  const guarded = (run: () => Promise<unknown>) => () =>
    void run()
      .then(load)
      .catch((error: unknown) => setProblem(error instanceof Error ? error.message : String(error)));

  const link = created ? `${location.origin}/#/register?invite=${encodeURIComponent(created.token)}&email=${encodeURIComponent(created.email)}` : "";
  return (
    <section>
      <h1 tabIndex={-1}>Admin</h1>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}

      <h2>Invitations</h2>
      {created ? (
        <div class="notice" role="status">
          <p>
            Invitation for <strong>{created.email}</strong>. Send this token (or the link) to them; it is shown once.
          </p>
          <pre class="code" tabIndex={0} aria-label="The invitation token" data-testid="invite-token">
            {created.token}
          </pre>
          <pre class="code" tabIndex={0} aria-label="The registration link">
            {link}
          </pre>
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      ) : null}
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void invite.submit(inviteBody, { email: invite.values.email, expiresInDays: Number(invite.values.expiresInDays) }, async (body) => {
            const answer = await api<Invite & { token: string }>("POST", "/v1/admin/invites", body);
            setCreated({ email: answer.email, token: answer.token });
            invite.reset({ email: "", expiresInDays: "7" });
            await load();
          });
        }}
      >
        <Field label="Email to invite" name="email" type="email" value={invite.values.email} onInput={(v) => invite.set("email", v)} errors={invite.errors} required />
        <Field label="Valid for (days)" name="expiresInDays" type="number" value={invite.values.expiresInDays} onInput={(v) => invite.set("expiresInDays", v)} errors={invite.errors} />
        <FormError errors={invite.errors} shown={["email", "expiresInDays"]} />
        <Busy busy={invite.busy}>Invite</Busy>
      </form>
      <table>
        <caption class="visually-hidden">Invitations</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Expires</th>
            <th scope="col">Used</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {invites.map((item) => (
            <tr key={item.id}>
              <td>{item.email}</td>
              <td>{item.expiresAt}</td>
              <td>{item.usedAt ?? "no"}</td>
              <td>
                {item.usedAt ? null : (
                  <button type="button" class="danger" onClick={guarded(() => api("DELETE", `/v1/admin/invites/${item.id}`))} aria-label={`Withdraw the invitation of ${item.email}`}>
                    Withdraw
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Plans</h2>
      <table>
        <caption class="visually-hidden">Plans</caption>
        <thead>
          <tr>
            <th scope="col">Plan</th>
            <th scope="col">Name</th>
            <th scope="col">Instances at once</th>
          </tr>
        </thead>
        <tbody>
          {plans.map((plan) => (
            <tr key={plan.id}>
              <td>
                <code>{plan.id}</code>
              </td>
              <td>{plan.name}</td>
              <td>
                <PlanLimit plan={plan} onSaved={load} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Users</h2>
      <table>
        <caption class="visually-hidden">Accounts</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Plan</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <td>{user.email}</td>
              <td>{user.role}</td>
              <td>{user.plan}</td>
              <td class="row-actions">
                <button type="button" onClick={guarded(() => api("PATCH", `/v1/admin/users/${user.id}`, { role: user.role === "admin" ? "user" : "admin" }))}>
                  {user.role === "admin" ? "Make user" : "Make admin"}
                </button>
                <button type="button" onClick={guarded(() => api("DELETE", `/v1/admin/users/${user.id}/sessions`, {}))} aria-label={`Sign out everywhere: ${user.email}`}>
                  Sign out everywhere
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function PlanLimit({ plan, onSaved }: { plan: Plan; onSaved: () => Promise<void> }) {
  const form = useForm({ maxInstances: String(plan.maxInstances) });
  return (
    <form
      noValidate
      class="inline"
      onSubmit={(event) => {
        event.preventDefault();
        void form.submit(z.strictObject({ name: z.string(), maxInstances: z.number().int().min(0).max(10000) }), { name: plan.name, maxInstances: Number(form.values.maxInstances) }, async (body) => {
          await api("PUT", `/v1/admin/plans/${plan.id}`, body);
          await onSaved();
        });
      }}
    >
      <Field label={`Instances on ${plan.name}`} name="maxInstances" type="number" value={form.values.maxInstances} onInput={(v) => form.set("maxInstances", v)} errors={form.errors} />
      <Busy busy={form.busy}>Save</Busy>
      <FormError errors={form.errors} shown={["maxInstances"]} />
    </form>
  );
}
