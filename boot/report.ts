/**
 * The test agent's report (boot/image/guest/report.sh), parsed: sections
 * headed `=== <name>`.
 */
export interface GuestReport {
  status: string;
  errors: string[];
  logProblems: string[];
  units: Record<string, Record<string, string>>;
  gatewayProcessUser: string;
  listening: { protocol: string; local: string }[];
  exposure: Record<string, number>;
  stateMount: string;
  stateConfigKept: boolean;
  memoryPeakMiB?: number;
  gatewayMemoryPeakMiB?: number;
  raw: Record<string, string>;
}

export function parseReport(text: string): GuestReport {
  const raw: Record<string, string> = {};
  let current = "";
  for (const line of text.split("\n")) {
    const header = /^=== (\S+)$/.exec(line);
    if (header) {
      current = header[1]!;
      raw[current] = "";
    } else if (current) raw[current] += `${line}\n`;
  }
  const status = /^status: (\S+)/m.exec(raw.status ?? "")?.[1] ?? "unknown";
  let errors: string[] = ["no result.json"];
  try {
    const result = JSON.parse(raw.result ?? "") as { v1?: { errors?: string[] } };
    errors = result.v1?.errors ?? [];
  } catch {
    // keeps "no result.json"
  }
  const units: Record<string, Record<string, string>> = {};
  for (const block of (raw.units ?? "").split(/\n\s*\n/)) {
    const props = Object.fromEntries(block.split("\n").filter((line) => line.includes("=")).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
    const id = props.Id?.replace(/\.service$/, "");
    if (id) units[id] = props;
  }
  const listening = (raw.listening ?? "").split("\n").filter(Boolean).map((line) => {
    const fields = line.trim().split(/\s+/);
    return { protocol: fields[0] ?? "", local: fields[4] ?? "" };
  });
  const exposure: Record<string, number> = {};
  for (const line of (raw.security ?? "").split("\n")) {
    const match = /^(\S+) .*Overall exposure level for \S+: ([\d.]+)/.exec(line);
    if (match) exposure[match[1]!] = Number(match[2]);
  }
  const memory = raw.memory ?? "";
  const peakKib = Number(/peak-kib (\d+)/.exec(memory)?.[1] ?? 0);
  const gatewayBytes = Number(/gateway-peak-bytes (\d+)/.exec(memory)?.[1] ?? 0);
  return {
    status,
    errors,
    logProblems: (raw["log-problems"] ?? "").split("\n").filter(Boolean),
    units,
    gatewayProcessUser: (raw["gateway-process"] ?? "").trim().split(/\s+/)[0] ?? "",
    listening,
    exposure,
    stateMount: (raw["state-mount"] ?? "").trim(),
    stateConfigKept: /model-settings present/.test(raw["state-config"] ?? ""),
    ...(peakKib > 0 ? { memoryPeakMiB: Math.round(peakKib / 1024) } : {}),
    ...(gatewayBytes > 0 ? { gatewayMemoryPeakMiB: Math.round(gatewayBytes / 1048576) } : {}),
    raw,
  };
}
