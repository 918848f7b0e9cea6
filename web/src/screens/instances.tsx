/** Instances: the list, the create form (validated with the API's own schema), one instance. */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { CLOUDS, MACHINE_SIZES, REGIONS, SIZE_PRESETS } from "../../../core/presets";
import { createInstanceBody } from "../../../api/http/instance-body";
import { ConfigError } from "../../../core/errors";
import { DEFAULT_SNAPSHOT_WEEKDAY, DEFAULT_SNAPSHOTS } from "../../../core/host-config";
import { parseHostConfig } from "../../../program/host-config";
import { api, ApiError } from "../api";
import { Busy, Field, FormError, Select, useForm } from "../forms";
import { navigate, useRoute } from "../router";
import type { Credential, InstanceView, JobView, Me, PlanAnswer } from "../types";
import { ChatPanel } from "./chat";
import { loadDeviceKeys } from "./device-keys";
import { ZeroAccess, type ZeroAccessInstance } from "./support";
import { isFinal, JobProgress } from "./jobs";
import { HealthPanel, InstanceJobs, PlanSummary, PowerControls, SnapshotsPanel } from "./instance-panels";

const CLOUD_LABELS: Record<(typeof CLOUDS)[number], string> = { digitalocean: "DigitalOcean", aws: "AWS", gcp: "Google Cloud" };

function address(instance: InstanceView): string {
  const outputs = instance.outputs ?? {};
  return String(outputs.publicIpv4 ?? outputs.gatewayUrl ?? "—");
}

function lastJobText(instance: InstanceView): string {
  return instance.lastJob ? `${instance.lastJob.operation}: ${instance.lastJob.state}` : "—";
}

/** Health: registration at first boot, then the gateway checks of the workers (`instance.health`, docs/proxy.md). */
function health(instance: InstanceView): string {
  if (instance.status === "destroyed") return "—";
  if (instance.health?.status === "stopped") return "stopped";
  if (!instance.registration) return "not registered yet";
  const checked = instance.health?.status ?? "unknown";
  return checked === "unknown" ? "registered, not checked yet" : checked === "cert_mismatch" ? "certificate mismatch!" : checked;
}

export function InstancesScreen() {
  const [instances, setInstances] = useState<InstanceView[] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    let timer: number | undefined;
    const load = async () => {
      try {
        const answer = await api<{ instances: InstanceView[] }>("GET", "/v1/instances");
        setInstances(answer.instances);
        setProblem(undefined);
        // Poll while something is in progress.
        if (answer.instances.some((i) => i.lastJob && !isFinal(i.lastJob))) timer = window.setTimeout(load, 3000);
      } catch (error) {
        setProblem(error instanceof Error ? error.message : String(error));
      }
    };
    void load();
    return () => window.clearTimeout(timer);
  }, []);
  return (
    <section>
      <div class="title-row">
        <h1 tabIndex={-1}>Instances</h1>
        <a class="button" href="#/instances/new">
          New instance
        </a>
      </div>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {instances === undefined ? (
        <p role="status">Loading…</p>
      ) : instances.length === 0 ? (
        <p>No instances yet. Add a cloud credential, then create your first instance.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Your instances</caption>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Status</th>
              <th scope="col">Health</th>
              <th scope="col">Address</th>
              <th scope="col">Cloud and region</th>
              <th scope="col">Last job</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((instance) => (
              <tr key={instance.id}>
                <td>
                  <a href={`#/instances/${instance.id}`}>{String(instance.config.name ?? "openclaw")}</a>
                  <div class="muted">
                    <code>{instance.id}</code>
                  </div>
                </td>
                <td>
                  <span class={`badge status-${instance.status}`}>{instance.status}</span>
                </td>
                <td>{health(instance)}</td>
                <td>{address(instance)}</td>
                <td>
                  {CLOUD_LABELS[instance.cloud as keyof typeof CLOUD_LABELS] ?? instance.cloud} {instance.region}
                </td>
                <td>{lastJobText(instance)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const SNAPSHOT_CHOICES = [
  ["default", `Default: daily at ${String(DEFAULT_SNAPSHOTS.hourUtc).padStart(2, "0")}:00 UTC, keep ${DEFAULT_SNAPSHOTS.retain}`],
  ["weekly", `Weekly, ${DEFAULT_SNAPSHOT_WEEKDAY} at ${String(DEFAULT_SNAPSHOTS.hourUtc).padStart(2, "0")}:00 UTC, keep 4`],
  ["off", "Off (not recommended: a lost state disk is gone for good)"],
] as const;

const SNAPSHOT_OPTIONS: Record<string, unknown> = {
  weekly: { enabled: true, frequency: "weekly", hourUtc: DEFAULT_SNAPSHOTS.hourUtc, weekday: DEFAULT_SNAPSHOT_WEEKDAY, retain: 4 },
  off: { enabled: false },
};

type CreateValues = {
  cloud: string;
  region: string;
  size: string;
  name: string;
  credentialId: string;
  gatewayCidrs: string;
  openclaw: string;
  node: string;
  snapshots: string;
  advanced: string;
};

/** The request body from the form's values, or the form field the advanced JSON broke. */
function bodyOf(values: CreateValues): unknown {
  let advanced: Record<string, unknown> = {};
  if (values.advanced.trim() !== "") {
    try {
      advanced = JSON.parse(values.advanced) as Record<string, unknown>;
    } catch (error) {
      throw new ApiError(400, `\`options\`: not valid JSON (${error instanceof Error ? error.message : String(error)})`, "body.advanced");
    }
  }
  const cidrs = values.gatewayCidrs.split(/[\s,]+/).filter(Boolean);
  const options: Record<string, unknown> = {
    ...advanced,
    gatewayCidrs: cidrs,
    versions: { openclaw: values.openclaw.trim(), node: values.node.trim() },
    ...(values.snapshots !== "default" ? { snapshots: SNAPSHOT_OPTIONS[values.snapshots] } : {}),
  };
  return {
    cloud: values.cloud,
    region: values.region,
    size: values.size,
    ...(values.name.trim() ? { name: values.name.trim() } : {}),
    ...(values.credentialId ? { credentialId: values.credentialId } : {}),
    options,
  };
}

/** Request fields at the top level of a create request (`REQUEST_TOP_LEVEL_KEYS`, api/engine/host-config.ts). */
const TOP_LEVEL_KEYS = new Set(["cloud", "region", "size", "name"]);

/**
 * The host config check the API runs on a create request (`instanceConfig`: the host stack's own
 * parser, program/host-config.ts), run here first; a refusal names the request field as the API would.
 */
function checkHostConfig(body: z.infer<typeof createInstanceBody>): void {
  const { cloud, region, size, name, options } = body;
  try {
    parseHostConfig({ ...options, cloud, region, ...(size !== undefined ? { size } : {}), ...(name !== undefined ? { name } : {}) });
  } catch (error) {
    // Parts of the parser need Node (SSH key blobs are read with Buffer): what cannot run here, the API checks.
    if (!(error instanceof ConfigError)) return;
    const root = error.key.split(/[.[]/)[0] ?? error.key;
    throw new ApiError(400, error.message, TOP_LEVEL_KEYS.has(root) ? `body.${error.key}` : `body.options.${error.key}`);
  }
}

export function CreateInstanceScreen() {
  const form = useForm<CreateValues>({
    cloud: "digitalocean",
    region: "nyc3",
    size: "small",
    name: "",
    credentialId: "",
    gatewayCidrs: "",
    openclaw: "",
    node: "22.11.0",
    snapshots: "default",
    advanced: "",
  });
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [deviceKeys, setDeviceKeys] = useState<string[] | undefined>();
  // The request as previewed and the API's plan of it: Create exists only on this screen, after a preview.
  const [review, setReview] = useState<{ body: z.infer<typeof createInstanceBody>; plan: PlanAnswer } | undefined>();
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const { values, errors } = form;
  useEffect(() => {
    void api<{ credentials: Credential[] }>("GET", "/v1/credentials").then((answer) => setCredentials(answer.credentials));
    void loadDeviceKeys().then(
      (keys) => setDeviceKeys(keys.filter((key) => key.revokedAt === null).map((key) => key.fingerprint)),
      () => setDeviceKeys(undefined),
    );
  }, []);
  const pinsNote =
    deviceKeys === undefined ? null : deviceKeys.length === 0 ? (
      <p class="notice">
        You have no device key: this instance would pin none, so you could not grant support access to it or open its ClawChat keys.{" "}
        <a href="#/device-keys">Make a device key</a> first.
      </p>
    ) : (
      <p class="muted">
        The host will pin your {deviceKeys.length} active device key{deviceKeys.length === 1 ? "" : "s"}: {deviceKeys.join(", ")}.
      </p>
    );
  const cloud = values.cloud as (typeof CLOUDS)[number];
  const ofCloud = credentials.filter((credential) => credential.kind === cloud);

  if (review) {
    const blocked = review.plan.preview.mandatoryViolations > 0;
    return (
      <section>
        <h1 tabIndex={-1}>Review the new instance</h1>
        <p>
          Nothing has been created yet. Below is the offline plan of this request (the real program, no cloud call) and what
          the policy pack and the preflight find in it. <strong>Create</strong> records the instance and starts its{" "}
          <code>up</code> job; you then follow its progress live.
        </p>
        <dl class="facts">
          <dt>Cloud</dt>
          <dd>{CLOUD_LABELS[cloud]}</dd>
          <dt>Region</dt>
          <dd>{review.body.region}</dd>
          <dt>Size</dt>
          <dd>
            {review.body.size} ({MACHINE_SIZES[cloud][review.body.size as (typeof SIZE_PRESETS)[number]]?.machineType ?? "?"})
          </dd>
          <dt>Credential</dt>
          <dd>{ofCloud.find((c) => c.id === review.plan.credentialId)?.name ?? review.plan.credentialId}</dd>
        </dl>
        {pinsNote}
        <PlanSummary plan={review.plan} />
        <h2>Request</h2>
        <pre class="code" tabIndex={0} aria-label="The request body">
          {JSON.stringify(review.body, null, 2)}
        </pre>
        <FormError errors={errors} shown={[]} />
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            if (blocked) return;
            void form.submit(createInstanceBody, review.body, async (body) => {
              const created = await api<{ instance: InstanceView; job: JobView }>("POST", "/v1/instances", body, {
                headers: { "idempotency-key": idempotencyKey },
              });
              navigate(`/instances/${created.instance.id}?job=${created.job.id}`);
            });
          }}
        >
          <div class="actions">
            <button type="button" class="secondary" onClick={() => setReview(undefined)}>
              Back to the form
            </button>
            <button type="submit" disabled={form.busy || blocked} aria-busy={form.busy ? "true" : undefined} aria-describedby={blocked ? "create-blocked" : undefined}>
              {form.busy ? <span class="spinner" aria-hidden="true" /> : null}
              Create
            </button>
          </div>
          {blocked ? (
            <p class="error" id="create-blocked">
              The plan has mandatory findings: the stack would be refused. Go back to the form and change what they name.
            </p>
          ) : null}
        </form>
      </section>
    );
  }

  const shown = ["cloud", "region", "size", "name", "credentialId", "options.gatewayCidrs", "options.versions.openclaw", "options.versions.node", "options.snapshots", "advanced"];
  return (
    <section>
      <h1 tabIndex={-1}>New instance</h1>
      {pinsNote}
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          let body: unknown;
          void form.submit(z.unknown(), undefined, async () => {
            body = bodyOf(values);
            const parsed = createInstanceBody.safeParse(body);
            if (!parsed.success) throw new ApiError(400, parsed.error.issues[0]!.message, `body.${parsed.error.issues[0]!.path.join(".")}`);
            checkHostConfig(parsed.data);
            // The API's preview of this very request: refusals land on the fields, as a create's would.
            const plan = await api<PlanAnswer>("POST", "/v1/instances/plan", parsed.data);
            setReview({ body: parsed.data, plan });
          });
        }}
      >
        <Select
          label="Cloud"
          name="cloud"
          value={values.cloud}
          options={CLOUDS.map((c) => [c, CLOUD_LABELS[c]] as const)}
          onInput={(v) => {
            form.set("cloud", v);
            form.set("region", REGIONS[v as (typeof CLOUDS)[number]][0] ?? "");
            form.set("credentialId", "");
          }}
          errors={errors}
        />
        <Select label="Region" name="region" value={values.region} options={REGIONS[cloud].map((r) => [r, r] as const)} onInput={(v) => form.set("region", v)} errors={errors} />
        <Select
          label="Size"
          name="size"
          value={values.size}
          options={SIZE_PRESETS.map((s) => [s, `${s}: ${MACHINE_SIZES[cloud][s].machineType}, ${MACHINE_SIZES[cloud][s].memoryMiB / 1024} GiB`] as const)}
          onInput={(v) => form.set("size", v)}
          errors={errors}
        />
        <Select
          label="Credential"
          name="credentialId"
          value={values.credentialId}
          options={[["", ofCloud.length ? "Newest of this cloud" : "None yet: add one under Credentials"] as const, ...ofCloud.map((c) => [c.id, c.name] as const)]}
          onInput={(v) => form.set("credentialId", v)}
          errors={errors}
        />
        <Field label="Name" name="name" value={values.name} onInput={(v) => form.set("name", v)} errors={errors} hint="Base name of the host's resources (default openclaw)" />
        <Field
          label="Gateway allowed from (CIDRs)"
          name="options.gatewayCidrs"
          value={values.gatewayCidrs}
          onInput={(v) => form.set("gatewayCidrs", v)}
          errors={errors}
          required
          hint="Addresses that may reach the gateway, comma separated, e.g. 203.0.113.0/24"
        />
        <Field label="OpenClaw version" name="options.versions.openclaw" value={values.openclaw} onInput={(v) => form.set("openclaw", v)} errors={errors} required hint="An exact version, e.g. 1.2.3" />
        <Field label="Node.js version" name="options.versions.node" value={values.node} onInput={(v) => form.set("node", v)} errors={errors} required />
        <Select label="Snapshots" name="options.snapshots" value={values.snapshots} options={SNAPSHOT_CHOICES} onInput={(v) => form.set("snapshots", v)} errors={errors} />
        <Field
          label="Other options (JSON)"
          name="advanced"
          multiline
          value={values.advanced}
          onInput={(v) => form.set("advanced", v)}
          errors={errors}
          hint='Any other stack config key, e.g. {"zone": "nyc3", "tags": {"team": "ml"}}'
        />
        <FormError errors={errors} shown={shown} />
        <Busy busy={form.busy}>Preview</Busy>
        <p class="hint">Preview runs the offline plan and the policy review of this request; nothing is created until you confirm it.</p>
      </form>
    </section>
  );
}

export function InstanceScreen({ id, me }: { id: string; me: Me }) {
  const route = useRoute();
  const [instance, setInstance] = useState<ZeroAccessInstance | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [jobs, setJobs] = useState<string[]>([]);
  const [acting, setActing] = useState<string | undefined>();
  const [confirmText, setConfirmText] = useState("");
  const [confirmError, setConfirmError] = useState<string | undefined>();
  // Bumped when a job starts or ends here: the jobs list and the health panel read again.
  const [reloadKey, setReloadKey] = useState(0);
  const reloadLists = () => setReloadKey((key) => key + 1);
  const follow = (jobId: string) => setJobs((list) => [jobId, ...list.filter((j) => j !== jobId)]);
  const jobParam = route.query.get("job");

  const load = async () => {
    try {
      setInstance(await api<ZeroAccessInstance>("GET", `/v1/instances/${encodeURIComponent(id)}`));
      setProblem(undefined);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  const startPreview = async () => {
    const answer = await api<{ job: JobView }>("POST", `/v1/instances/${encodeURIComponent(id)}/preview`);
    follow(answer.job.id);
    reloadLists();
  };

  useEffect(() => {
    setJobs([]);
    void load().then(async () => {
      if (route.query.get("preview") === "1") await startPreview().catch((error: unknown) => setProblem(String(error)));
    });
  }, [id]);

  // `?job=` (from the create screen or a link of the jobs list): follow that job's live progress here.
  useEffect(() => {
    if (jobParam) follow(jobParam);
  }, [id, jobParam]);

  useEffect(() => {
    const last = instance?.lastJob?.id;
    if (last) setJobs((list) => (list.includes(last) ? list : [...list, last]));
  }, [instance?.lastJob?.id]);

  const act = async (label: string, run: () => Promise<void>) => {
    setActing(label);
    setProblem(undefined);
    try {
      await run();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setActing(undefined);
    }
  };

  const operation = (op: "up" | "refresh") =>
    act(op, async () => {
      const answer = await api<{ job: JobView }>("POST", `/v1/instances/${encodeURIComponent(id)}/${op}`);
      follow(answer.job.id);
      reloadLists();
      await load();
    });

  if (!instance) {
    return (
      <section>
        <h1 tabIndex={-1}>Instance</h1>
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : (
          <p role="status">Loading…</p>
        )}
      </section>
    );
  }

  const outputs = instance.outputs ?? {};
  const destroyed = instance.status === "destroyed";
  return (
    <section>
      <h1 tabIndex={-1}>
        {String(instance.config.name ?? "openclaw")} <span class={`badge status-${instance.status}`}>{instance.status}</span>
      </h1>
      <p class="muted">
        <code>{instance.id}</code> · {instance.cloud} {instance.region} · {instance.size} · stack <code>{instance.stackName}</code>
      </p>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      <div class="actions">
        <button type="button" onClick={() => void act("preview", startPreview)} disabled={acting !== undefined}>
          Preview plan and findings
        </button>
        <button type="button" onClick={() => void operation("refresh")} disabled={acting !== undefined || destroyed}>
          Refresh
        </button>
        <button type="button" onClick={() => void operation("up")} disabled={acting !== undefined || destroyed}>
          Run up again
        </button>
        <button type="button" class="secondary" onClick={() => void load()}>
          Reload
        </button>
      </div>

      <div class="grid">
        <section aria-labelledby="outputs-title">
          <h2 id="outputs-title">Outputs</h2>
          <dl class="facts">
            <dt>Gateway URL</dt>
            <dd>{String(outputs.gatewayUrl ?? "not yet (after a successful up)")}</dd>
            <dt>Address</dt>
            <dd>{String(outputs.publicIpv4 ?? "—")}</dd>
            <dt>Certificate fingerprint (SHA-256)</dt>
            <dd>{instance.registration ? <code class="wrap">{instance.registration.tlsCertSha256}</code> : "not registered yet (the host registers at first boot)"}</dd>
            {Object.entries(outputs)
              .filter(([key]) => !["gatewayUrl", "publicIpv4"].includes(key))
              .flatMap(([key, value]) => [
                <dt key={`${key}-t`}>{key}</dt>,
                <dd key={`${key}-d`}>{typeof value === "string" ? value : JSON.stringify(value)}</dd>,
              ])}
          </dl>
        </section>
        <section aria-labelledby="snapshots-title">
          <SnapshotsPanel instance={instance} />
        </section>
        <section aria-labelledby="health-title">
          <HealthPanel instance={instance} reloadKey={reloadKey} />
        </section>
      </div>

      {destroyed ? null : (
        <PowerControls
          instance={instance}
          onJob={(job) => {
            follow(job.id);
            reloadLists();
            void load();
          }}
        />
      )}

      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Jobs</h2>
        <InstanceJobs instanceId={instance.id} reloadKey={reloadKey} />
        <h3>Progress</h3>
        <p class="muted">The last job, and those started or opened from this page, live.</p>
        {jobs.length === 0 ? <p>No job followed.</p> : null}
        {jobs.map((jobId) => (
          <JobProgress
            key={jobId}
            jobId={jobId}
            onFinished={() => {
              reloadLists();
              void load();
            }}
          />
        ))}
      </section>

      <ChatPanel instance={instance} />

      <ZeroAccess instance={instance} me={me} />

      {destroyed ? null : (
        <section aria-labelledby="destroy-title" class="danger">
          <h2 id="destroy-title">Destroy</h2>
          <p>
            Destroying deletes the host, its disks and its snapshots schedule in your cloud. It cannot be undone. Type the instance id{" "}
            <code>{instance.id}</code> to confirm.
          </p>
          <form
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              if (confirmText.trim() !== instance.id) {
                setConfirmError("type the instance id exactly to confirm");
                return;
              }
              setConfirmError(undefined);
              void act("destroy", async () => {
                const answer = await api<{ job: JobView }>("DELETE", `/v1/instances/${encodeURIComponent(id)}`);
                follow(answer.job.id);
                reloadLists();
                setConfirmText("");
                await load();
              });
            }}
          >
            <div class="field">
              <label for="destroy-confirm">Instance id</label>
              <input
                id="destroy-confirm"
                value={confirmText}
                autocomplete="off"
                aria-invalid={confirmError ? "true" : undefined}
                aria-describedby={confirmError ? "destroy-confirm-error" : undefined}
                onInput={(event) => setConfirmText((event.currentTarget as HTMLInputElement).value)}
              />
              {confirmError ? (
                <p class="error" id="destroy-confirm-error" role="alert">
                  {confirmError}
                </p>
              ) : null}
            </div>
            <button type="submit" class="danger" disabled={acting !== undefined}>
              {acting === "destroy" ? <span class="spinner" aria-hidden="true" /> : null}
              Destroy this instance
            </button>
          </form>
        </section>
      )}
    </section>
  );
}
