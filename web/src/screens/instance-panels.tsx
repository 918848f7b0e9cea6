/**
 * Parts of the instance page and the create review: the preview of a create request (plan by type,
 * findings by enforcement), the instance's jobs (`GET /v1/instances/:id/jobs`, pages, links to each
 * job's live progress), its health history (`GET /v1/instances/:id/health`), the power buttons
 * (`POST /v1/instances/:id/stop|start|reboot`, stop and reboot confirmed first) and the state disk's snapshots
 * with their schedule (`GET /v1/instances/:id/snapshots`, *Refresh list*: `POST .../snapshots/refresh`).
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import type { HealthHistory, InstanceJobsPage, InstanceSnapshots, InstanceView, JobView, PlanAnswer } from "../types";
import { isFinal } from "./jobs";

/** The plan of a create request: resources per type, then the findings, mandatory first. */
export function PlanSummary({ plan }: { plan: PlanAnswer }) {
  const { summary, preview } = plan;
  const mandatory = preview.violations.filter((violation) => violation.enforcement === "mandatory");
  const advisory = preview.violations.filter((violation) => violation.enforcement !== "mandatory");
  const findings = (title: string, list: typeof preview.violations, kind: string) => (
    <>
      <h3>
        {title}: {list.length}
      </h3>
      {list.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="findings" aria-label={`${title} findings`}>
          {list.map((violation, index) => (
            <li key={index} class={`finding enforcement-${kind}`}>
              <strong>{violation.policy}</strong>
              {violation.resourceType ? <span class="muted"> on {violation.resourceType}</span> : null}
              <p>{violation.message}</p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
  return (
    <div class="preview">
      <h2>Plan: {summary.resources} resources</h2>
      <table>
        <caption class="visually-hidden">Planned resources by type</caption>
        <thead>
          <tr>
            <th scope="col">Resource type</th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          {summary.byType.map((entry) => (
            <tr key={entry.type}>
              <td>
                <code>{entry.type}</code>
              </td>
              <td>{entry.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Policy findings</h2>
      {findings("Mandatory", mandatory, "mandatory")}
      {findings("Advisory", advisory, "advisory")}
      {preview.preflight?.notes.length ? (
        <>
          <h3>Assumptions</h3>
          <ul>
            {preview.preflight.notes.map((note) => (
              <li key={note}>{note}</li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function when(at: string | null): string {
  return at ? at.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "—";
}

/** The instance's jobs, newest first; each links to its live progress on this page (`?job=`). */
export function InstanceJobs({ instanceId, reloadKey }: { instanceId: string; reloadKey: number }) {
  const [jobs, setJobs] = useState<InstanceJobsPage["jobs"] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);
  const path = `/v1/instances/${encodeURIComponent(instanceId)}/jobs?limit=10`;

  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    const load = async () => {
      try {
        const page = await api<InstanceJobsPage>("GET", path);
        if (stopped) return;
        setJobs(page.jobs);
        setNext(page.next);
        setProblem(undefined);
        // Poll while one of them is queued or running.
        if (page.jobs.some((job) => !isFinal(job))) timer = window.setTimeout(load, 2000);
      } catch (error) {
        if (!stopped) setProblem(error instanceof Error ? error.message : String(error));
      }
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [instanceId, reloadKey]);

  const more = async () => {
    if (!next) return;
    setLoadingMore(true);
    try {
      const page = await api<InstanceJobsPage>("GET", `${path}&before=${encodeURIComponent(next)}`);
      setJobs((list) => [...(list ?? []), ...page.jobs]);
      setNext(page.next);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setLoadingMore(false);
    }
  };

  if (problem && !jobs) {
    return (
      <p class="error" role="alert">
        {problem}
      </p>
    );
  }
  if (!jobs) return <p role="status">Loading jobs…</p>;
  if (jobs.length === 0) return <p>No job yet.</p>;
  return (
    <>
      <table data-testid="instance-jobs">
        <caption class="visually-hidden">Jobs of this instance, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Finished</th>
            <th scope="col">Progress</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
              <td>
                {job.operation}
                <div class="muted">
                  <code>{job.id}</code>
                </div>
              </td>
              <td>
                <span class={`badge state-${job.state}`}>{job.state}</span>
                {job.error ? <div class="muted">{job.error.code}</div> : null}
              </td>
              <td>{when(job.createdAt)}</td>
              <td>{when(job.finishedAt)}</td>
              <td>
                <a href={`#/instances/${instanceId}?job=${job.id}`}>
                  {isFinal(job) ? "Events" : "Live progress"}
                  <span class="visually-hidden">
                    {" "}
                    of the {job.operation} job {job.id}
                  </span>
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {next ? (
        <button type="button" class="secondary" onClick={() => void more()} disabled={loadingMore} aria-busy={loadingMore ? "true" : undefined}>
          {loadingMore ? <span class="spinner" aria-hidden="true" /> : null}
          Older jobs
        </button>
      ) : null}
    </>
  );
}

const HEALTH_WORDS: Record<string, string> = { up: "up", down: "down", cert_mismatch: "certificate mismatch!", stopped: "stopped", unknown: "not checked yet" };

/** The gateway's latest check and the changes of its status the checker recorded. */
export function HealthPanel({ instance, reloadKey }: { instance: InstanceView; reloadKey: number }) {
  const [history, setHistory] = useState<HealthHistory | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    api<HealthHistory>("GET", `/v1/instances/${encodeURIComponent(instance.id)}/health?limit=20`).then(
      (answer) => {
        setHistory(answer);
        setProblem(undefined);
      },
      (error: unknown) => setProblem(error instanceof Error ? error.message : String(error)),
    );
  }, [instance.id, instance.status, reloadKey]);

  const latest = history?.latest ?? instance.health;
  const status =
    instance.status === "destroyed"
      ? "—"
      : latest.status === "stopped"
        ? "stopped"
        : !instance.registration
          ? "not registered yet"
          : (HEALTH_WORDS[latest.status] ?? latest.status);
  return (
    <>
      <h2 id="health-title">Health</h2>
      <p>
        Now: <strong data-testid="health-now">{status}</strong>
      </p>
      {latest.checkedAt ? (
        <p class="muted">
          Last check {when(latest.checkedAt)}
          {latest.lastSeenAt ? `; gateway last answered ${when(latest.lastSeenAt)}` : ""}
          {latest.latencyMs !== null ? ` in ${latest.latencyMs} ms` : ""}
          {latest.certificate ? `; certificate ${latest.certificate}` : ""}.
        </p>
      ) : null}
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {history === undefined ? null : history.transitions.length === 0 ? (
        <p class="muted">No change recorded yet: the workers' checker records each change of the gateway's status.</p>
      ) : (
        <table>
          <caption>Health history (newest first)</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Became</th>
              <th scope="col">Round trip</th>
            </tr>
          </thead>
          <tbody>
            {history.transitions.map((entry) => (
              <tr key={entry.id}>
                <td>{when(entry.at)}</td>
                <td>{HEALTH_WORDS[entry.status] ?? entry.status}</td>
                <td>{entry.status === "up" ? `${Math.round(entry.latencyMs)} ms` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

type PowerAction = "stop" | "start" | "reboot";

/** The states each action starts from (the API's POWER_FROM, api/jobs/instances.ts). */
const POWER_FROM: Record<PowerAction, readonly string[]> = { stop: ["ready", "stopped"], start: ["stopped", "ready"], reboot: ["ready"] };
const POWER_LABELS: Record<PowerAction, string> = { stop: "Stop", start: "Start", reboot: "Reboot" };
const CONFIRM: Partial<Record<PowerAction, string>> = {
  stop: "Stop this instance? The host shuts down gracefully and stays off until you start it; its address and state disk are kept. Chat and support access are unavailable while it is stopped.",
  reboot: "Reboot this instance? The host restarts; chat and support sessions open now are cut.",
};

/** Stop, Start, Reboot: enabled by the instance's status, stop and reboot confirmed first; `onJob` gets the enqueued job. */
export function PowerControls({ instance, onJob }: { instance: InstanceView; onJob: (job: JobView) => void }) {
  const [confirming, setConfirming] = useState<PowerAction | undefined>();
  const [busy, setBusy] = useState<PowerAction | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const deployed = instance.outputs?.instanceId !== undefined && instance.outputs?.instanceId !== null;
  const running = instance.lastJob !== null && !isFinal(instance.lastJob);
  const why = !deployed
    ? "Power actions need a deployed host: run up first."
    : running
      ? `Wait for the ${instance.lastJob!.operation} job to end.`
      : `The instance is ${instance.status}: stop needs it ready or stopped, start stopped or ready, reboot ready.`;

  useEffect(() => {
    if (confirming) document.getElementById("power-confirm-yes")?.focus();
  }, [confirming]);

  const run = async (action: PowerAction) => {
    setConfirming(undefined);
    setBusy(action);
    setProblem(undefined);
    try {
      const answer = await api<{ job: JobView }>("POST", `/v1/instances/${encodeURIComponent(instance.id)}/${action}`);
      onJob(answer.job);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section aria-labelledby="power-title">
      <h2 id="power-title">Power</h2>
      <div class="actions">
        {(["stop", "start", "reboot"] as const).map((action) => (
          <button
            key={action}
            type="button"
            class={action === "start" ? undefined : "secondary"}
            disabled={!deployed || running || busy !== undefined || !POWER_FROM[action].includes(instance.status)}
            aria-describedby="power-why"
            onClick={() => (CONFIRM[action] ? setConfirming(action) : void run(action))}
          >
            {busy === action ? <span class="spinner" aria-hidden="true" /> : null}
            {POWER_LABELS[action]}
          </button>
        ))}
      </div>
      <p class="muted" id="power-why">
        {why}
      </p>
      {confirming ? (
        <div class="confirm" role="group" aria-labelledby="power-confirm-text">
          <p id="power-confirm-text">{CONFIRM[confirming]}</p>
          <div class="actions">
            <button type="button" id="power-confirm-yes" class="danger" onClick={() => void run(confirming)}>
              {POWER_LABELS[confirming]} now
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
    </section>
  );
}

function describeSchedule(answer: InstanceSnapshots): string {
  const schedule = answer.schedule;
  if (schedule?.enabled === false) return "off (the stack turned snapshots off)";
  if (answer.scheduleSummary) return answer.scheduleSummary;
  if (!schedule) return "the default schedule";
  const hour = `${String(schedule.hourUtc ?? 0).padStart(2, "0")}:00 UTC`;
  return schedule.frequency === "weekly" ? `weekly on ${schedule.weekday ?? "?"} at ${hour}, keep ${schedule.retain ?? "?"}` : `daily at ${hour}, keep ${schedule.retain ?? "?"}`;
}

const SOURCE_WORDS: Record<string, string> = { schedule: "scheduled", manual: "manual", unknown: "unknown" };

/**
 * The state disk's snapshots and their schedule: the list the last successful listing job found in the cloud
 * (with when it was listed), *Refresh list* to list again (followed every 2 s while queued or running), a failed
 * listing's reason as text.
 */
export function SnapshotsPanel({ instance }: { instance: InstanceView }) {
  const [answer, setAnswer] = useState<InstanceSnapshots | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [asking, setAsking] = useState(false);
  const [tick, setTick] = useState(0);
  const path = `/v1/instances/${encodeURIComponent(instance.id)}/snapshots`;

  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    api<InstanceSnapshots>("GET", path).then(
      (next) => {
        if (stopped) return;
        setAnswer(next);
        setProblem(undefined);
        if (next.listing && !isFinal(next.listing)) timer = window.setTimeout(() => setTick((n) => n + 1), 2000);
      },
      (error: unknown) => !stopped && setProblem(error instanceof Error ? error.message : String(error)),
    );
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [instance.id, instance.status, tick]);

  const refresh = async () => {
    setAsking(true);
    setProblem(undefined);
    try {
      await api<{ job: JobView }>("POST", `${path}/refresh`);
      setTick((n) => n + 1);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setAsking(false);
    }
  };

  const listing = answer?.listing ?? null;
  const busy = asking || (listing !== null && !isFinal(listing));
  return (
    <div data-testid="snapshots-panel">
      <h2 id="snapshots-title">Snapshots</h2>
      {answer ? (
        <p>
          Schedule: {describeSchedule(answer)}
          {answer.schedule?.enabled === false ? "" : `; taken by ${answer.takenBy}`}.
        </p>
      ) : (
        <p role="status">Loading snapshots…</p>
      )}
      {answer && !answer.stateDiskId ? <p class="muted">No state disk yet: its snapshots can be listed after a successful up.</p> : null}
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void refresh()} disabled={busy || !answer?.stateDiskId || instance.status === "destroyed"} aria-busy={busy ? "true" : undefined}>
          {busy ? <span class="spinner" aria-hidden="true" /> : null}
          Refresh list
        </button>
      </div>
      <p class="muted" role="status" data-testid="snapshots-listed">
        {busy ? `Listing in your cloud… (${listing?.state ?? "asking"})` : answer?.listedAt ? `Listed ${when(answer.listedAt)}: ${answer.total} snapshot${answer.total === 1 ? "" : "s"}.` : answer ? "Not listed yet." : ""}
      </p>
      {listing?.state === "failed" && listing.error ? (
        <p class="error" role="alert" data-testid="snapshots-error">
          The last listing failed: {listing.error.message}
        </p>
      ) : null}
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {answer && answer.snapshots.length > 0 ? (
        <table data-testid="snapshots">
          <caption class="visually-hidden">Snapshots of the state disk, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Taken</th>
              <th scope="col">Source</th>
              <th scope="col">Size</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {answer.snapshots.map((snapshot) => (
              <tr key={snapshot.id}>
                <td>
                  {when(snapshot.createdAt)}
                  <div class="muted">
                    <code>{snapshot.name ?? snapshot.id}</code>
                  </div>
                </td>
                <td>{SOURCE_WORDS[snapshot.source] ?? snapshot.source}</td>
                <td>{snapshot.sizeGiB !== undefined ? `${snapshot.sizeGiB} GiB` : "—"}</td>
                <td>{snapshot.status ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
