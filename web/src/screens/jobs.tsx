/** Live progress of a job (its server-sent events), and the preview's plan and policy findings. */
import { useEffect, useState } from "preact/hooks";
import { api, followJob, type JobEvent } from "../api";
import type { JobView, PreviewResult } from "../types";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export function isFinal(job: Pick<JobView, "state">): boolean {
  return FINAL.has(job.state);
}

function describe(event: JobEvent): string {
  const data = event.data;
  switch (event.type) {
    case "state":
      return `state: ${String(data.state)}${data.message ? ` (${String(data.message)})` : ""}`;
    case "log":
      return String(data.line ?? "");
    case "progress": {
      const progress = (data.event ?? {}) as Record<string, unknown>;
      switch (progress.type) {
        case "resource":
          return `${String(progress.phase)} ${String(progress.op)} ${String(progress.resourceType)}`;
        case "diagnostic":
          return `${String(progress.severity)}: ${String(progress.message)}`;
        case "policy":
          return `policy ${String(progress.policy)} (${String(progress.level)}): ${String(progress.message)}`;
        case "summary":
          return `summary: ${JSON.stringify(progress.changes)}`;
        default:
          return String(progress.message ?? progress.type ?? "");
      }
    }
    case "result":
      return `result: ${String(data.state)}${data.error ? ` (${String(data.error)})` : ""}`;
    case "end":
      return "stream ended";
    default:
      return event.type;
  }
}

/** Follows one job until it ends; calls `onFinished` with the job as the API then shows it. */
export function JobProgress({ jobId, onFinished }: { jobId: string; onFinished?: (job: JobView) => void }) {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [job, setJob] = useState<JobView | undefined>();
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    setJob(undefined);
    void api<JobView>("GET", `/v1/jobs/${jobId}`).then(setJob, () => undefined);
    followJob(jobId, (event) => setEvents((list) => [...list, event]), abort.signal)
      .then(async () => {
        const finished = await api<JobView>("GET", `/v1/jobs/${jobId}`);
        setJob(finished);
        onFinished?.(finished);
      })
      .catch((error: unknown) => {
        if (!abort.signal.aborted) setProblem(error instanceof Error ? error.message : String(error));
      });
    return () => abort.abort();
  }, [jobId]);

  const state = job && isFinal(job) ? job.state : (events.filter((e) => e.type === "state").at(-1)?.data.state as string | undefined) ?? job?.state ?? "queued";
  const running = !job || !isFinal(job);
  return (
    <section class="job" aria-labelledby={`job-${jobId}`}>
      <h3 id={`job-${jobId}`}>
        {job ? `${job.operation} job` : "Job"} <span class={`badge state-${state}`}>{state}</span>
        {running ? <span class="spinner" role="status" aria-label="in progress" /> : null}
      </h3>
      <p class="muted">
        <code>{jobId}</code>
      </p>
      {job?.error ? (
        <p class="error" role="alert">
          {job.error.code}: {job.error.message}
        </p>
      ) : null}
      {problem ? (
        <p class="error" role="alert">
          Following the job failed: {problem}
        </p>
      ) : null}
      <ol class="events" aria-live="polite" aria-label="Job events">
        {events.map((event) => (
          <li key={`${event.id}-${event.type}`}>{describe(event)}</li>
        ))}
      </ol>
      {job && job.operation === "preview" && job.state === "succeeded" ? <PreviewView result={job.result as PreviewResult} /> : null}
    </section>
  );
}

export function PreviewView({ result }: { result: PreviewResult }) {
  return (
    <div class="preview">
      <h4>Plan: {result.plan.resources.length} resources</h4>
      <table>
        <caption class="visually-hidden">Planned resources</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Name</th>
          </tr>
        </thead>
        <tbody>
          {result.plan.resources.map((resource) => (
            <tr key={resource.urn}>
              <td>
                <code>{resource.type}</code>
              </td>
              <td>{resource.name}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>
        Policy findings: {result.violations.length} ({result.mandatoryViolations} mandatory)
      </h4>
      {result.violations.length === 0 ? (
        <p>No findings.</p>
      ) : (
        <ul class="findings">
          {result.violations.map((violation, index) => (
            <li key={index} class={`finding enforcement-${violation.enforcement}`}>
              <strong>{violation.policy}</strong> <span class="badge">{violation.enforcement}</span>
              {violation.resourceType ? <span class="muted"> on {violation.resourceType}</span> : null}
              <p>{violation.message}</p>
            </li>
          ))}
        </ul>
      )}
      {result.preflight?.notes.length ? (
        <>
          <h4>Assumptions</h4>
          <ul>
            {result.preflight.notes.map((note) => (
              <li key={note}>{note}</li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
