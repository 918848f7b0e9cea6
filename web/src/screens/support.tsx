/**
 * Zero access on the instance page (issue 17): the device keys pinned on the host, the
 * support-access switch (a grant signed here with this browser's device key; the provider cannot
 * make one), its countdown and revocation, the audit of the commands support ran, and the ClawChat
 * keys the host sealed to the user's device keys, opened here and saved as files.
 * Nothing opened or signed here is sent anywhere but the grant itself, or logged.
 */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { ConfigError } from "../../../core/errors";
import { parseCidr } from "../../../core/validation";
import { openSealed, type SealedBox, SealedBoxError, checkSealedBox } from "../../../core/zero-access/sealed-box";
import { GrantError, SUPPORT_GRANT_MAX_KEYS, SUPPORT_GRANT_MAX_REASON, SUPPORT_GRANT_MAX_SOURCES, signGrant } from "../../../core/zero-access/support-grant";
import { api, ApiError } from "../api";
import { type DeviceKeyView, type LocalDeviceKey, localKeyFor, localKeys } from "../device-keys";
import { Busy, Field, FormError, useForm } from "../forms";
import type { InstanceView, Me } from "../types";
import { loadDeviceKeys } from "./device-keys";
import { GatewaySetup } from "./gateway-setup";

/** The instance view with the zero-access fields of docs/zero-access.md (absent on instances made before them). */
export type ZeroAccessInstance = InstanceView & { pinnedKeyFingerprints?: string[] };

export interface GrantView {
  id: string;
  status: "active" | "revoked" | "expired";
  notBefore: string;
  notAfter: string;
  reason: string;
  sources: string[];
  revokedAt: string | null;
  supportKeyFingerprints?: string[];
  signer?: string;
  /** The grant's SSH rule in the host's cloud firewall (absent from an API before it). */
  cloudFirewall?: CloudFirewallState;
  /** Why the last cloud firewall change failed; null once one succeeded. */
  cloudFirewallError?: string | null;
}

export type CloudFirewallState = "opening" | "open" | "closing" | "closed" | "failed";

/** The grant's cloud firewall state in plain words, or undefined from an API that does not report it. */
export function cloudFirewallText(grant: Pick<GrantView, "cloudFirewall" | "cloudFirewallError" | "sources">): string | undefined {
  switch (grant.cloudFirewall) {
    case undefined:
      return undefined;
    case "opening":
      return "Cloud firewall: opening…";
    case "open":
      return `Cloud firewall: open for ${grant.sources.join(", ")}`;
    case "closing":
      return "Cloud firewall: closing…";
    case "closed":
      return "Cloud firewall: closed";
    case "failed":
      return `Cloud firewall: failed: ${grant.cloudFirewallError ?? "no reason given"}`;
    default: {
      const unknown: never = grant.cloudFirewall;
      return `Cloud firewall: ${String(unknown)}`;
    }
  }
}

/** A grant whose cloud rule is being changed by a job: the screen follows it until it settles. */
const cloudFirewallMoving = (grant: GrantView) => grant.cloudFirewall === "opening" || grant.cloudFirewall === "closing";

export interface PublishedSupportKey {
  fingerprint: string;
  publicKey: string;
}

export interface SupportCommand {
  seq?: number;
  grantId: string;
  operator: string;
  operatorEmail?: string | null;
  commandLine: string;
  startedAt: string;
  endedAt: string | null;
  /** -1: the command ended without an exit status (killed by a signal). */
  exitStatus: number | null;
  stdoutBytes: number;
  stderrBytes: number;
}

const GRANT_FIELDS = ["supportKeys", "sources", "reason", "hours"] as const;

/** The form's own checks; the grant's fields are checked again by `signGrant` (core) and by the API. */
const grantForm = z.object({
  supportKeys: z
    .array(z.string())
    .min(1, "paste the support team's SSH public key (ssh-ed25519 or ecdsa-sha2-nistp256)")
    .max(SUPPORT_GRANT_MAX_KEYS, `at most ${SUPPORT_GRANT_MAX_KEYS} keys`),
  sources: z
    .array(z.string())
    .min(1, "name the addresses support connects from (CIDR blocks)")
    .max(SUPPORT_GRANT_MAX_SOURCES, `at most ${SUPPORT_GRANT_MAX_SOURCES} CIDR blocks`),
  reason: z.string().trim().min(1, "say why support needs access").max(SUPPORT_GRANT_MAX_REASON, `at most ${SUPPORT_GRANT_MAX_REASON} characters`),
  hours: z.coerce.number({ message: "hours: a whole number from 1 to 24" }).int("a whole number of hours").min(1, "at least 1 hour").max(24, "at most 24 hours"),
});

const lines = (text: string) =>
  text
    .split(/\n/)
    .map((line) => line.trim())
    .filter(Boolean);
const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** The form field a grant problem concerns, from a field path or a message naming `sources[0]`-like fields. */
export function grantFieldOf(field: string | undefined, message: string): string {
  const named = `${field ?? ""} ${/`([^`]+)`/.exec(message)?.[1] ?? ""}`;
  const match = /(supportKeys|sources|reason|notAfter|notBefore)(\[\d+\])?/.exec(named);
  if (!match) return field?.startsWith("body.") ? field.slice(5) : (field ?? "");
  if (match[1] === "notAfter" || match[1] === "notBefore") return "hours";
  return `${match[1]}${match[2] ?? ""}`;
}

function remaining(until: string, now: number): string {
  const ms = Date.parse(until) - now;
  if (ms <= 0) return "expired";
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h} h ${String(m).padStart(2, "0")} min ${String(s).padStart(2, "0")} s`;
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

interface PanelProps {
  instance: ZeroAccessInstance;
  me: Me;
  /** Fingerprints of the device keys the host pinned at creation (undefined while loading). */
  pinned: string[] | undefined;
  /** Whether the host runs the support agent, from its registration (`GET .../pinned-keys`); undefined while loading. */
  agent?: SupportAgentState | undefined;
}

/** `supportAgent` of `GET /v1/instances/:id/pinned-keys` (api/support/agent-presence.ts). */
type SupportAgentState = "present" | "absent" | "unknown";

/**
 * Why a grant cannot reach this host, as the API refuses it (api/support/agent-presence.ts): its host
 * registered without the agent, or it is an AWS host (which fetches its agent at first boot) not registered yet.
 */
function noAgentReason(cloud: string, agent: SupportAgentState | undefined): string | undefined {
  if (agent === "absent") return "this host registered without the support agent (built without it, or its agent could not be fetched at first boot): it accepts no grant";
  if (agent === "unknown" && cloud === "aws") return "this AWS host has not registered yet: it fetches its support agent at first boot, and takes grants once it has registered";
  return undefined;
}

/**
 * The zero-access part of the instance page: the pinned keys (`GET /v1/instances/:id/pinned-keys`,
 * or the instance view's `pinnedKeyFingerprints`), the support-access switch, the ClawChat keys.
 */
export function ZeroAccess({ instance, me }: { instance: ZeroAccessInstance; me: Me }) {
  const [pinned, setPinned] = useState<string[] | undefined>(instance.pinnedKeyFingerprints);
  const [agent, setAgent] = useState<SupportAgentState | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    void api<{ items: { fingerprint: string }[]; supportAgent?: SupportAgentState }>("GET", `/v1/instances/${encodeURIComponent(instance.id)}/pinned-keys`).then(
      (answer) => {
        setPinned(answer.items.map((item) => item.fingerprint));
        setAgent(answer.supportAgent);
      },
      (error: unknown) => {
        if (instance.pinnedKeyFingerprints === undefined) setProblem(error instanceof Error ? error.message : String(error));
      },
    );
  }, [instance.id]);
  return (
    <>
      {problem ? (
        <p class="error" role="alert">
          Pinned device keys: {problem}
        </p>
      ) : null}
      <PinnedKeys instance={instance} me={me} pinned={pinned} />
      <SupportAccess instance={instance} me={me} pinned={pinned} agent={agent} />
      <GatewaySetup instance={instance} me={me} pinned={pinned} noAgent={noAgentReason(instance.cloud, agent)} />
      <ClawChatKeys instance={instance} me={me} pinned={pinned} />
    </>
  );
}

/** The device keys pinned on the host at creation: a key you do not recognise is a substituted one. */
export function PinnedKeys({ instance, me, pinned: pinnedOrNot }: PanelProps) {
  const [mine, setMine] = useState<DeviceKeyView[] | undefined>();
  const [here, setHere] = useState<LocalDeviceKey[]>([]);
  useEffect(() => {
    void Promise.all([loadDeviceKeys(), localKeys(me.id)]).then(
      ([listed, held]) => {
        setMine(listed);
        setHere(held);
      },
      () => setMine([]),
    );
  }, [instance.id]);
  const pinned = pinnedOrNot ?? [];
  const foreign = mine === undefined ? [] : pinned.filter((fingerprint) => !mine.some((key) => key.fingerprint === fingerprint));
  return (
    <section aria-labelledby="pinned-title">
      <h2 id="pinned-title">Pinned device keys</h2>
      <p class="muted">
        The host trusts only these keys, written into it when it was created: a grant or a sealed key for anyone else is refused. Compare
        them with your device keys; one you do not know was substituted.
      </p>
      {pinnedOrNot === undefined ? (
        <p role="status">Loading…</p>
      ) : pinned.length === 0 ? (
        <p>No device key is pinned on this instance (it was created before you had one): support access and ClawChat keys need an instance created after you made a device key.</p>
      ) : (
        <ul class="pinned" aria-label="Pinned device key fingerprints">
          {pinned.map((fingerprint) => {
            const known = mine?.find((key) => key.fingerprint === fingerprint);
            const local = here.some((key) => key.fingerprint === fingerprint);
            return (
              <li key={fingerprint}>
                <code class="wrap">{fingerprint}</code>{" "}
                {local ? <span class="badge this-browser">this browser</span> : null}{" "}
                {mine === undefined ? null : known ? (
                  <span class="muted">
                    your key “{known.name}”{known.revokedAt ? " (revoked, but this host still trusts it until the instance is re-created)" : ""}
                  </span>
                ) : (
                  <strong class="error">not one of your device keys</strong>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {foreign.length > 0 ? (
        <p class="error" role="alert">
          This host trusts {foreign.length === 1 ? "a key that is" : `${foreign.length} keys that are`} not yours: whoever holds it could grant
          support access to this host and open its ClawChat keys. Do not use this instance; destroy it and tell us.
        </p>
      ) : null}
    </section>
  );
}

/** The support-access switch: OFF with a grant form, or ON until the grant's end with a countdown and Revoke. */
export function SupportAccess({ instance, me, pinned: pinnedOrNot, agent }: PanelProps) {
  const [grants, setGrants] = useState<GrantView[] | undefined>();
  const [commands, setCommands] = useState<SupportCommand[] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [opening, setOpening] = useState(false);
  const [revoking, setRevoking] = useState<string | undefined>();
  const [loadingForm, setLoadingForm] = useState(false);
  const now = useNow(1000);
  const form = useForm({ supportKeys: "", sources: "", reason: "", hours: "24" });
  const { values, errors } = form;
  const [published, setPublished] = useState<PublishedSupportKey[]>([]);
  const base = `/v1/instances/${encodeURIComponent(instance.id)}`;
  const pinned = pinnedOrNot ?? [];
  const noAgent = noAgentReason(instance.cloud, agent);

  const load = async () => {
    try {
      const [grantList, commandList] = await Promise.all([
        api<{ items: GrantView[] }>("GET", `${base}/support-grants`),
        api<{ items: SupportCommand[] }>("GET", `${base}/support-commands`),
      ]);
      setGrants(grantList.items);
      setCommands(commandList.items);
      setProblem(undefined);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };
  useEffect(() => {
    void load();
  }, [instance.id]);

  /** Opens the form, prefilled with the support keys the operator publishes (`GET /v1/support-keys`), if any. */
  const openForm = async () => {
    // The form appears once the published keys are in it: nothing changes under the user's typing.
    setLoadingForm(true);
    try {
      const keys = (await api<{ items: PublishedSupportKey[] }>("GET", "/v1/support-keys")).items;
      setPublished(keys);
      if (keys.length > 0 && values.supportKeys.trim() === "") form.set("supportKeys", keys.map((key) => key.publicKey).join("\n"));
    } catch {
      setPublished([]);
    } finally {
      setLoadingForm(false);
      setOpening(true);
    }
    // Keyboard users land in the form they opened.
    requestAnimationFrame(() => document.querySelector<HTMLElement>('form[aria-label="Grant support access"] textarea')?.focus());
  };

  const active = grants?.filter((grant) => grant.status === "active" && Date.parse(grant.notAfter) > now) ?? [];
  // While access is open, the commands support runs and the end of the grant are followed; while a
  // grant's cloud rule is being opened or closed, it is followed closely (as a running job is).
  const moving = grants?.some(cloudFirewallMoving) ?? false;
  useEffect(() => {
    if (active.length === 0 && !moving) return;
    const timer = window.setInterval(() => void load(), moving ? 3000 : 10_000);
    return () => window.clearInterval(timer);
  }, [active.length, moving]);

  const revoke = async (grant: GrantView) => {
    setRevoking(grant.id);
    try {
      await api("DELETE", `${base}/support-grants/${encodeURIComponent(grant.id)}`);
      await load();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setRevoking(undefined);
    }
  };

  const submit = () =>
    form.submit(
      grantForm,
      { supportKeys: lines(values.supportKeys), sources: list(values.sources), reason: values.reason, hours: values.hours },
      async (parsed) => {
        parsed.sources.forEach((cidr, index) => {
          try {
            parseCidr(`sources[${index}]`, cidr);
          } catch (error) {
            if (error instanceof ConfigError) throw new ApiError(400, error.message, `body.sources[${index}]`);
            throw error;
          }
        });
        const signer = await localKeyFor(me.id, pinned);
        if (!signer) {
          throw new Error(
            pinned.length === 0
              ? "No device key is pinned on this instance: a grant cannot be signed for it."
              : "This browser holds none of the device keys pinned on this instance: grant access from the device that holds one (or the CLI's file key).",
          );
        }
        const notBefore = new Date();
        let signed;
        try {
          signed = await signGrant(
            {
              instanceId: instance.id,
              supportKeys: parsed.supportKeys,
              sources: parsed.sources,
              reason: parsed.reason,
              notBefore,
              notAfter: new Date(notBefore.getTime() + parsed.hours * 3_600_000),
            },
            { publicKey: signer.publicKey, signingKey: signer.signing.privateKey },
          );
        } catch (error) {
          if (error instanceof GrantError) throw new ApiError(400, error.message, `body.${grantFieldOf(undefined, error.message)}`);
          throw error;
        }
        try {
          await api("POST", `${base}/support-grants`, signed);
        } catch (error) {
          if (error instanceof ApiError) throw new ApiError(error.status, error.message, `body.${grantFieldOf(error.field, error.message)}`, error.requestId);
          throw error;
        }
        form.reset({ supportKeys: "", sources: "", reason: "", hours: "24" });
        setOpening(false);
        await load();
      },
    );

  return (
    <section aria-labelledby="support-title" class="support">
      <h2 id="support-title">Support access</h2>
      <p class="muted">
        Nobody at Claw Cloud can log in to this host. A grant you sign here lets the support team's SSH key in, from the addresses you name,
        for at most 24 hours; every command they run is listed below and in your audit log. Revoking ends it within a minute.
      </p>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      <p class="visually-hidden" role="status">
        {grants === undefined ? "" : active.length > 0 ? "Support access is on." : "Support access is off."}
      </p>
      {grants === undefined ? (
        problem ? null : <p role="status">Loading…</p>
      ) : active.length > 0 ? (
        active.map((grant) => (
          <div key={grant.id} class="switch on" data-grant-id={grant.id}>
            <p>
              <strong>Support access: ON</strong> until {grant.notAfter} —{" "}
              <span role="timer" aria-label="Time left">
                expires in {remaining(grant.notAfter, now)}
              </span>
            </p>
            <p class="muted">
              Reason: {grant.reason} · from {grant.sources.join(", ")}
              {grant.supportKeyFingerprints?.length ? ` · support keys ${grant.supportKeyFingerprints.join(", ")}` : ""}
              {grant.signer ? ` · signed by ${grant.signer}` : ""}
            </p>
            <CloudFirewallLine grant={grant} />
            <button type="button" class="danger" disabled={revoking !== undefined} onClick={() => void revoke(grant)}>
              {revoking === grant.id ? <span class="spinner" aria-hidden="true" /> : null}
              Revoke support access
            </button>
          </div>
        ))
      ) : (
        <div class="switch off">
          <p>
            <strong>Support access: OFF</strong>{" "}
            {opening ? null : (
              <button
                type="button"
                onClick={() => void openForm()}
                disabled={instance.status === "destroyed" || noAgent !== undefined || pinnedOrNot === undefined || pinned.length === 0 || loadingForm}
                aria-busy={loadingForm ? "true" : undefined}
              >
                {loadingForm ? <span class="spinner" aria-hidden="true" /> : null}
                Grant access – expires in 24h
              </button>
            )}
            {noAgent !== undefined ? (
              <span class="muted">({noAgent})</span>
            ) : pinnedOrNot !== undefined && pinned.length === 0 ? (
              <span class="muted">(no device key is pinned on this instance: it accepts no grant)</span>
            ) : null}
          </p>
        </div>
      )}
      {opening && active.length === 0 ? (
        <form
          noValidate
          aria-label="Grant support access"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <Field
            label="Support SSH public keys"
            name="supportKeys"
            multiline
            value={values.supportKeys}
            onInput={(v) => form.set("supportKeys", v)}
            errors={errors}
            hint={
              published.length > 0
                ? `Prefilled with the support keys Claw Cloud publishes (${published.map((key) => key.fingerprint).join(", ")}); one per line`
                : "One per line, as the support team gave them: ssh-ed25519 AAAA… (a comment at the end is dropped)"
            }
          />
          <Field
            label="Support connects from (CIDRs)"
            name="sources"
            value={values.sources}
            onInput={(v) => form.set("sources", v)}
            errors={errors}
            hint="The support team's addresses, comma separated, e.g. 198.51.100.0/24; port 22 opens for these only"
          />
          <Field label="Reason" name="reason" value={values.reason} onInput={(v) => form.set("reason", v)} errors={errors} hint="Shown to you and written into the grant" />
          <Field label="Hours" name="hours" type="number" value={values.hours} onInput={(v) => form.set("hours", v)} errors={errors} hint="1 to 24; access ends by itself then" />
          <FormError errors={errors} shown={GRANT_FIELDS} />
          <p class="muted">Signed in this browser with your device key; the API and the host check the signature against the pinned keys.</p>
          <div class="actions">
            <button type="button" class="secondary" onClick={() => setOpening(false)}>
              Cancel
            </button>
            <Busy busy={form.busy}>Sign and grant access</Busy>
          </div>
        </form>
      ) : null}

      {grants && grants.some((grant) => !active.includes(grant)) ? (
        <table>
          <caption>Earlier grants</caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">Until</th>
              <th scope="col">State</th>
              <th scope="col">Reason</th>
              <th scope="col">Sources</th>
            </tr>
          </thead>
          <tbody>
            {grants
              .filter((grant) => !active.includes(grant))
              .map((grant) => (
                <tr key={grant.id}>
                  <td>{grant.notBefore}</td>
                  <td>{grant.notAfter}</td>
                  <td>
                    {grant.status === "revoked" ? `revoked ${grant.revokedAt ?? ""}` : grant.status === "active" ? "expired" : grant.status}
                    <CloudFirewallLine grant={grant} />
                  </td>
                  <td>{grant.reason}</td>
                  <td>{grant.sources.join(", ")}</td>
                </tr>
              ))}
          </tbody>
        </table>
      ) : null}

      <h3>Commands run by support</h3>
      {commands === undefined ? null : commands.length === 0 ? (
        <p>None.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Commands run by support (metadata only, never output)</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Operator</th>
              <th scope="col">Command</th>
              <th scope="col">Exit</th>
              <th scope="col">Took</th>
              <th scope="col">Output bytes</th>
            </tr>
          </thead>
          <tbody>
            {commands.map((command, index) => (
              <tr key={`${command.grantId}-${command.startedAt}-${index}`}>
                <td>{command.startedAt}</td>
                <td>
                  {command.operatorEmail ?? command.operator}
                  {command.operatorEmail ? <div class="muted">{command.operator}</div> : null}
                </td>
                <td>
                  <code class="wrap">{command.commandLine}</code>
                </td>
                <td>{command.exitStatus === null ? "running" : command.exitStatus === -1 ? "no status (signal)" : command.exitStatus}</td>
                <td>{command.endedAt ? `${((Date.parse(command.endedAt) - Date.parse(command.startedAt)) / 1000).toFixed(1)} s` : "—"}</td>
                <td>
                  {command.stdoutBytes} out, {command.stderrBytes} err
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The grant's cloud firewall line (text only: the error is the cloud's words, never markup). */
function CloudFirewallLine({ grant }: { grant: GrantView }) {
  const text = cloudFirewallText(grant);
  if (text === undefined) return null;
  return <p class={grant.cloudFirewall === "failed" ? "error" : "muted"}>{text}</p>;
}

/** What `clawchat connect` takes (docs/clawchat.md): the `.sec` file and `bootstrap.key`, named as the CLI names them. */
interface OpenedKeys {
  securityFile: string;
  securityFileName: string;
  bootstrapKey: string;
  updatedAt: string;
}

/** The host's name for the security file (`clawchat-YYYYMMDD-HHMMSS.sec`) when it sent a safe one, else `clawchat.sec`. */
function securityFileNameOf(value: unknown): string {
  return typeof value === "string" && /^[A-Za-z0-9._-]{1,100}\.sec$/.test(value) && !value.startsWith(".") ? value : "clawchat.sec";
}

/** Saves `text` as a file: a Blob URL clicked and revoked at once (never uploaded, never logged). */
function save(text: string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The ClawChat security file and bootstrap key, sealed by the host to your device keys, opened in this browser. */
export function ClawChatKeys({ instance, me }: PanelProps) {
  const [opened, setOpened] = useState<OpenedKeys | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // What was opened lives in this component's memory only, and is dropped when the page changes.
  useEffect(() => () => setOpened(undefined), [instance.id]);

  const download = async () => {
    setBusy(true);
    setProblem(undefined);
    setOpened(undefined);
    try {
      let answer: { box: SealedBox; updatedAt: string };
      try {
        answer = await api<{ box: SealedBox; updatedAt: string }>("GET", `/v1/instances/${encodeURIComponent(instance.id)}/clawchat-keys`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          throw new Error("The host has not uploaded its sealed ClawChat keys yet: it does so once ClawChat has started (and after each re-issue).", { cause: error });
        }
        throw error;
      }
      checkSealedBox(answer.box);
      const recipients = answer.box.recipients.map((recipient) => recipient.fingerprint);
      const key = await localKeyFor(me.id, recipients);
      if (!key) throw new Error(`The keys are sealed to ${recipients.join(", ")}; this browser holds none of those device keys.`);
      const plaintext = await openSealed(answer.box, { publicKey: key.publicKey, sealingKey: key.sealing.privateKey }, `clawchat-keys:${instance.id}`);
      let content: { securityFile?: unknown; bootstrapKey?: unknown; securityFileName?: unknown } | undefined;
      try {
        content = JSON.parse(new TextDecoder().decode(plaintext)) as typeof content;
      } catch {
        content = undefined;
      } finally {
        plaintext.fill(0);
      }
      if (typeof content?.securityFile !== "string" || typeof content.bootstrapKey !== "string") {
        throw new Error("The sealed box opened, but it holds no security file and bootstrap key (the host sent something else).");
      }
      setOpened({
        securityFile: content.securityFile,
        securityFileName: securityFileNameOf(content.securityFileName),
        bootstrapKey: content.bootstrapKey.endsWith("\n") ? content.bootstrapKey : `${content.bootstrapKey}\n`,
        updatedAt: answer.updatedAt,
      });
    } catch (error) {
      setProblem(error instanceof SealedBoxError ? `The sealed box does not open here: ${error.message}` : error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="clawchat-keys-title">
      <h2 id="clawchat-keys-title">ClawChat keys</h2>
      <p class="muted">
        The host seals its ClawChat security file and bootstrap key to your device keys; Claw Cloud stores only the sealed box and cannot open
        it. It is opened here, in this browser, and saved as files on this device.
      </p>
      <button type="button" onClick={() => void download()} disabled={busy} aria-busy={busy ? "true" : undefined}>
        {busy ? <span class="spinner" aria-hidden="true" /> : null}
        Download ClawChat keys
      </button>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {opened ? (
        <div class="notice" role="status">
          <p>Opened with this browser's device key (sealed {opened.updatedAt}). Save both; keep them as secret as a password.</p>
          <p class="muted">
            Then, on this device: <code>chmod 600 {opened.securityFileName} bootstrap.key</code> and{" "}
            <code>
              clawchat connect --security-file ./{opened.securityFileName} --bootstrap-key ./bootstrap.key
            </code>
            .
          </p>
          <div class="actions">
            <button type="button" onClick={() => save(opened.securityFile, opened.securityFileName, "application/octet-stream")}>
              Save the security file
            </button>
            <button type="button" onClick={() => save(opened.bootstrapKey, "bootstrap.key", "application/octet-stream")}>
              Save the bootstrap key
            </button>
            <button type="button" class="secondary" onClick={() => setOpened(undefined)}>
              Forget them here
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
}
