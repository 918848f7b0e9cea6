import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLAWCHAT_AEAD_ADDON_PATH } from "../cloud-init/bundle.js";
import { ProxyDeviceIdentity } from "../api/proxy/device-identity.js";
import { probeProxyPairing } from "../api/proxy/pairing-probe.js";
import type { GatewayTarget } from "../api/proxy/target.js";
import { clawchatRoundTrip, type ClawChatFiles, openClawChatBox } from "./clawchat-check.js";
import { connectGateway } from "./gateway-client.js";
import { ensureRootImage } from "./image.js";
import { ensureNodeDist } from "./node-dist.js";
import { cacheDir, HOST_FROM_GUEST } from "./paths.js";
import { answers, pinnedGet, servedFingerprint } from "./probe.js";
import { agentCommand, startVm, type Forward } from "./qemu.js";
import { parseReport, type GuestReport } from "./report.js";
import { scanForSecrets, type SecretScan } from "./secret-scan.js";
import { startAptProxy } from "./services/apt-proxy.js";
import { startModelStandIn } from "./services/model.js";
import { startNpmMirror } from "./services/npm-mirror.js";
import { freePort, type Started } from "./services/process.js";
import { startStandIns } from "./services/standins.js";
import { makeSupportKeys, runSupportChecks, type SupportKeys } from "./support-checks.js";
import { ensureTestPki } from "./tls.js";
import { renderStackUserData } from "./user-data.js";

/** Versions the boot test installs (the real packages, through the mirrors). */
export const BOOT_VERSIONS = { openclaw: "2026.9.6", node: "24.22.3" };
/** Host tools a boot needs, all from Debian's packages (.ci/run installs them). */
export const BOOT_TOOLS = ["qemu-system-x86_64", "debootstrap", "genisoimage", "mkfs.ext4", "openssl"];
/** Upper bounds, generous for software emulation on two shared cores. */
const FIRST_BOOT_TIMEOUT_MS = 45 * 60_000;
/** Each boot's root disk, as large as the clouds' (sparse on the host). */
const ROOT_DISK_SIZE = "20G";

export type BootCloud = "do";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BootPhaseTimes {
  /** Seconds from power-on, as seen on the serial console from the host. */
  kernel?: number;
  cloudInitStart?: number;
  firstBootScript?: number;
  nodeInstall?: number;
  openclawInstall?: number;
  gatewayStart?: number;
  firstBootDone?: number;
  readyz?: number;
}

export interface BootRecord {
  boot: number;
  accel: string;
  times: BootPhaseTimes;
  memoryPeakMiB?: number;
  gatewayMemoryPeakMiB?: number;
  securityExposure: Record<string, number>;
}

export interface BootSummary {
  cloud: BootCloud;
  ok: boolean;
  checks: Check[];
  boots: BootRecord[];
  imageBuildSeconds: number;
  wallSeconds: number;
  runDir: string;
}

/** Highest `systemd-analyze security` exposure accepted per ClawStack unit (0 safest, 10 worst). docs/boot.md. */
export const EXPOSURE_LIMITS: Record<string, number> = {
  "openclaw-gateway": 3.5, "clawchat": 3.5, "openclaw-token": 10, "nginx": 10, "clawstack-firewall": 10,
  // Root by design (sshd's config, the firewall, other users' sessions); confined by capabilities and paths: recorded.
  "clawstack-support": 10,
};

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function toolMissing(): string | undefined {
  return BOOT_TOOLS.find((tool) => {
    try {
      sh("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]);
      return false;
    } catch {
      return true;
    }
  });
}

/** Why a boot cannot run on this machine, or undefined when it can. */
export function bootUnavailableReason(): string | undefined {
  const missing = toolMissing();
  if (missing) return `\`${missing}\` is not installed (apt-get install qemu-system-x86 debootstrap genisoimage)`;
  if (process.getuid?.() !== 0) return "building the root disk (debootstrap, chroot) needs root";
  return undefined;
}

function seedIso(dir: string, userData: string, instanceId: string, hostname: string): string {
  const seed = join(dir, "seed");
  mkdirSync(seed, { recursive: true });
  writeFileSync(join(seed, "user-data"), userData, { mode: 0o600 });
  writeFileSync(join(seed, "meta-data"), `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`);
  const iso = join(dir, "seed.iso");
  sh("genisoimage", ["-quiet", "-V", "cidata", "-J", "-r", "-o", iso, join(seed, "user-data"), join(seed, "meta-data")]);
  rmSync(seed, { recursive: true, force: true });
  return iso;
}

function stateDiskUuid(path: string): string {
  try {
    return sh("blkid", ["-p", "-s", "UUID", "-o", "value", path]).trim();
  } catch {
    return "";
  }
}

/**
 * cloud-init ran every stage without an error: `done`, or `disabled` (ClawStack's first boot closes user data
 * for later boots) with result.json present (parseReport reports its absence as an error) and empty.
 */
export function cloudInitFinished(report: Pick<GuestReport, "status" | "errors">): boolean {
  return (report.status === "done" || report.status === "disabled") && report.errors.length === 0;
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms / 100) / 10);

/**
 * Boots the host a DigitalOcean stack renders, twice: a first boot on a fresh
 * state disk, then a new root disk with the same state disk (a replacement).
 * Every check is recorded, none is skipped silently.
 */
export interface BootOptions {
  /**
   * `--support-access`: the stack pins a device key made for the run and the host runs the support agent;
   * boot 1 adds the `support.*` checks (boot/support-checks.ts, docs/boot.md).
   */
  supportAccess?: boolean;
  /**
   * `--upgrade-from <openclaw version>`: boot 1 installs that version and boot 2 (the same state disk) the
   * pinned BOOT_VERSIONS.openclaw, as a `versions.openclaw` change does (issue 14 item 5); each boot checks the
   * version the gateway reports.
   */
  upgradeFrom?: string;
  /**
   * `--proxy-device`: the stack pins a chat-proxy device made for the run (host config `proxyDevice`, what the
   * provisioning API's job runner sets); each boot checks that the host's timer approves exactly that device
   * (`proxyDevicePaired`, docs/proxy.md "Device identity") by probing through nginx as the API's health checker does.
   */
  proxyDevice?: boolean;
}

/** `--upgrade-from`: a released openclaw version (CalVer, as on the npm registry), other than the one booted last. */
export function upgradeFromProblem(version: string): string | undefined {
  if (!/^\d{4}\.\d{1,2}\.\d{1,3}$/.test(version)) return `\`--upgrade-from\` must be an openclaw release such as 2026.9.5; got ${JSON.stringify(version)}`;
  if (version === BOOT_VERSIONS.openclaw) return `\`--upgrade-from\` must differ from the version boot 2 installs (${BOOT_VERSIONS.openclaw})`;
  return undefined;
}

export async function runBoot(cloud: BootCloud, log: (line: string) => void, options: BootOptions = {}): Promise<BootSummary> {
  const started = Date.now();
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    log(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}`);
  };
  const runDir = cacheDir("runs", `${cloud}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const pki = ensureTestPki();
  const image = ensureRootImage(pki, log);
  const dist = ensureNodeDist(BOOT_VERSIONS.node);
  const openclawVersions = [options.upgradeFrom ?? BOOT_VERSIONS.openclaw, BOOT_VERSIONS.openclaw];
  const integrity = new Map(openclawVersions.map((version) => [version, sh("npm", ["view", `openclaw@${version}`, "dist.integrity"]).trim()]));
  const services: Started[] = [];
  const boots: BootRecord[] = [];
  try {
    services.push(await startAptProxy());
    const npm = await startNpmMirror(pki);
    services.push(npm);
    const standIns = await startStandIns(pki, dist.root);
    services.push(standIns);
    const model = await startModelStandIn();
    services.push(model);

    const supportKeys: SupportKeys | undefined = options.supportAccess ? await makeSupportKeys(runDir) : undefined;
    const proxyDevice = options.proxyDevice ? ProxyDeviceIdentity.generate() : undefined;
    const stateDisk = join(runDir, "state.img");
    sh("truncate", ["-s", "10G", stateDisk]);
    const hostname = "openclaw-do";
    let firstFingerprint = "";
    let firstGatewayToken = "";
    let firstStateUuid = "";
    /** The user's ClawChat files from boot 1 (the sealed box opened), reused by boot 2 as a client would. */
    let clawchatFiles: ClawChatFiles | undefined;

    for (const boot of [1, 2]) {
      const bootDir = join(runDir, `boot${boot}`);
      mkdirSync(bootDir, { recursive: true });
      const instanceId = `inst_${randomBytes(16).toString("hex")}`;
      const registrationToken = `csreg_${randomBytes(32).toString("base64url")}`;
      const userData = await renderStackUserData(`boot-${cloud}`, {
        cloud: "digitalocean",
        name: hostname,
        region: "fra1",
        gatewayCidrs: [`${HOST_FROM_GUEST}/32`],
        clawchatClientCidrs: [`${HOST_FROM_GUEST}/32`],
        // The bundle does not fit DigitalOcean's user data next to the support agent: fetched, checked by SHA-256.
        clawchat: { install: "fetch", bundleUrl: standIns.clawchatBundleGuestUrl },
        versions: { ...BOOT_VERSIONS, openclaw: openclawVersions[boot - 1]!, nodeSha256: { x64: dist.sha256X64 }, openclawIntegrity: integrity.get(openclawVersions[boot - 1]!)! },
        mirrors: { npmRegistry: npm.guestUrl, nodeDist: standIns.nodeDistGuestUrl },
        registration: { apiUrl: `${standIns.apiGuestBase}/v1/instances/${instanceId}/register`, instanceId, token: registrationToken },
        ...(supportKeys ? { supportAccess: { pinnedKeys: [supportKeys.owner.publicKey], apiUrl: `${standIns.apiGuestBase}/v1` } } : {}),
        ...(proxyDevice ? { proxyDevice: proxyDevice.public() } : {}),
      });
      const iso = seedIso(bootDir, userData, `i-boot${boot}-${randomBytes(4).toString("hex")}`, hostname);
      const rootDisk = join(bootDir, "root.img");
      sh("cp", ["--sparse=always", image.rootImage, rootDisk]);
      // The clouds' root disks are 20 GiB or more (AWS and GCP: 20 GiB); a smaller one does not hold the
      // 2 GiB swap file of the small preset plus Node.js and openclaw (the gateway then fails with ENOSPC).
      sh("truncate", ["-s", ROOT_DISK_SIZE, rootDisk]);
      sh("e2fsck", ["-fy", rootDisk]);
      sh("resize2fs", [rootDisk]);
      const forwards: Forward[] = [];
      for (const guestPort of [3000, 18789, 22, 80, 443, 8080]) forwards.push({ protocol: "tcp", guestPort, hostPort: await freePort() });
      const hostPort = (guestPort: number) => forwards.find((forward) => forward.guestPort === guestPort)!.hostPort;
      const agentSocket = join(bootDir, "agent.sock");
      const monitorSocket = join(bootDir, "monitor.sock");
      const vm = startVm({
        kernel: image.kernel, initrd: image.initrd, rootDisk, seedIso: iso,
        stateDisk: { path: stateDisk, vendor: "DO", product: "Volume", deviceId: `${hostname}-state` },
        memoryMiB: 2048, cpus: 2, forwards, consoleLog: join(bootDir, "console.log"), agentSocket, monitorSocket, accel: "tcg",
      });
      log(`boot ${boot}: started (TCG); console: ${join(bootDir, "console.log")}`);
      const record: BootRecord = { boot, accel: "tcg", times: {}, securityExposure: {} };
      boots.push(record);
      const mark = async (key: keyof BootPhaseTimes, pattern: RegExp, timeoutMs: number) => {
        const line = await vm.waitForLine(pattern, timeoutMs).catch(() => undefined);
        record.times[key] = seconds(line?.ms);
        return line;
      };
      const phases = Promise.all([
        mark("kernel", /Linux version|Run \/init|systemd\[1\]/, 5 * 60_000),
        mark("cloudInitStart", /Cloud-init v\. .* running 'init-local'|cloud-init\[\d+\]: Cloud-init v\./, 10 * 60_000),
        mark("firstBootScript", /clawstack: host firewall/, FIRST_BOOT_TIMEOUT_MS),
        mark("nodeInstall", /clawstack: openclaw \d/, FIRST_BOOT_TIMEOUT_MS),
        mark("openclawInstall", /clawstack: gateway configuration and token/, FIRST_BOOT_TIMEOUT_MS),
        mark("gatewayStart", /clawstack: gateway service/, FIRST_BOOT_TIMEOUT_MS),
      ]);
      try {
        const done = await vm.waitForLine(/clawstack: first boot done|clawstack: .*(failed|error)|Cloud-init v\. .* finished/, FIRST_BOOT_TIMEOUT_MS);
        record.times.firstBootDone = seconds(done.ms);
        check(`boot${boot}.firstBootDone`, /first boot done/.test(done.text), `${done.text.trim().slice(0, 160)} after ${seconds(done.ms)} s`);

        // Ready from outside: TLS on :3000 with the fingerprint the host registered, then /readyz.
        const registration = standIns.registrations().find((entry) => entry.registrationToken === registrationToken);
        check(`boot${boot}.registration`, registration !== undefined && registration.instanceId === instanceId && /^[0-9a-f]{64}$/.test(registration.gatewayToken),
          registration ? `POST /v1/instances/${registration.instanceId}/register with the single-use token` : "nothing registered");
        const fingerprint = await servedFingerprint(hostPort(3000));
        check(`boot${boot}.tlsFingerprintRegistered`, fingerprint !== undefined && fingerprint === registration?.tlsCertSha256,
          `served ${fingerprint?.slice(0, 16) ?? "nothing"}..., registered ${registration?.tlsCertSha256.slice(0, 16) ?? "nothing"}...`);
        let ready: { status: number; body: string } | { error: string } = { error: "not tried" };
        const readyDeadline = Date.now() + 10 * 60_000;
        while (Date.now() < readyDeadline && fingerprint) {
          ready = await pinnedGet(hostPort(3000), "/readyz", fingerprint);
          if ("status" in ready && ready.status === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
        record.times.readyz = seconds(Date.now() - vm.startedAt);
        check(`boot${boot}.readyz`, "status" in ready && ready.status === 200 && /"ready":\s*true/.test(ready.body),
          "status" in ready ? `HTTP ${ready.status} after ${record.times.readyz} s from power-on` : ready.error);

        for (const guestPort of [18789, 22, 80, 443, 8080]) {
          const open = await answers(hostPort(guestPort));
          check(`boot${boot}.port${guestPort}Silent`, !open, open ? "something answered" : "no byte back");
        }
        check(`boot${boot}.port3000Answers`, await answers(hostPort(3000)), "TLS on 3000 answers");

        if (registration && fingerprint) {
          try {
            const gateway = await connectGateway({ url: `wss://127.0.0.1:${hostPort(3000)}`, token: registration.gatewayToken, pinnedSha256: fingerprint, timeoutMs: 60_000 });
            const auth = gateway.hello.auth as { scopes?: string[] } | undefined;
            const version = (gateway.hello.server as { version?: string } | undefined)?.version;
            gateway.close();
            check(`boot${boot}.gatewayVersion`, version === openclawVersions[boot - 1], `the gateway reports ${version ?? "no version"}; user data pinned ${openclawVersions[boot - 1]}`);
            check(`boot${boot}.gatewayHandshakeOverTls`, gateway.hello.type === "hello-ok", `hello-ok through nginx with the registered token; scopes granted to a remote client without a paired device: ${JSON.stringify(auth?.scopes ?? [])}`);
          } catch (error) {
            check(`boot${boot}.gatewayHandshakeOverTls`, false, (error as Error).message);
          }
          try {
            const badToken = await connectGateway({ url: `wss://127.0.0.1:${hostPort(3000)}`, token: "0".repeat(64), pinnedSha256: fingerprint, timeoutMs: 60_000 })
              .then(() => "accepted", (error: Error) => `refused (${error.message.slice(0, 80)})`);
            check(`boot${boot}.wrongTokenRefused`, badToken.startsWith("refused"), badToken);
          } catch (error) {
            check(`boot${boot}.wrongTokenRefused`, false, (error as Error).message);
          }
        }

        if (proxyDevice && registration && fingerprint) {
          const outcome = await waitForProxyPairing({ host: "127.0.0.1", port: hostPort(3000), sha256: fingerprint, token: registration.gatewayToken }, proxyDevice);
          check(`boot${boot}.proxyDevicePaired`, outcome.paired, outcome.detail);
        }

        if (supportKeys) {
          if (boot === 1) {
            check(`boot${boot}.support.hostTokenRegistered`, /^cshost_[A-Za-z0-9_-]{43}$/.test(registration?.hostToken ?? ""), registration?.hostToken ? "the host credential came with the registration" : "no host credential registered");
            await runSupportChecks({ instanceId, sshPort: hostPort(22), api: standIns.support, keys: supportKeys, clawchat: true, log,
              check: (name, ok, detail) => check(`boot${boot}.${name}`, ok, detail) });
          } else {
            check(`boot${boot}.support.port22Silent`, !(await answers(hostPort(22))), "a replacement without a grant: 22 silent");
          }
        }

        const chatsBefore = model.chatRequests();
        const chat = await agentCommand(agentSocket, `chat ${model.guestBaseUrl} standin/${model.modelId}`, 10 * 60_000).catch((error: Error) => `chat-error ${error.message}`);
        const expected = createHash("sha256").update(model.answer).digest("hex");
        const result = /chat-result (\w+) sha256=([0-9a-f]{64}) ms=(\d+)/.exec(chat);
        check(`boot${boot}.chatReachesModel`, result?.[1] === "final" && result[2] === expected && model.chatRequests() > chatsBefore,
          result ? `${result[1]}, answer ${result[2] === expected ? "is" : "is NOT"} the stand-in's, ${result[3]} ms, ${model.chatRequests() - chatsBefore} model request(s)` : chat.trim().split("\n").pop() ?? "no answer");

        // ClawChat through the real gateway, with the files the user gets (sealed to the pinned key): boot 1
        // opens the box and chats; boot 2 (a replacement on the same state disk) reconnects with the same files.
        if (supportKeys) {
          if (boot === 1) {
            const box = standIns.support.boxes[standIns.support.boxes.length - 1];
            if (box) clawchatFiles = await openClawChatBox(box, supportKeys, instanceId, runDir).catch(() => undefined);
          }
          const name = boot === 1 ? "clawchatRoundTrip" : "clawchatReconnects";
          const result = clawchatFiles ? await clawchatRoundTrip(clawchatFiles, monitorSocket, model.answer, async () => {
            const answer = await agentCommand(agentSocket, "clawchat-port", 60_000).catch(() => "");
            const port = /"data_port":(\d+)/.exec(answer)?.[1];
            return port === undefined ? undefined : Number(port);
          }) : { ok: false, detail: "no sealed ClawChat keys arrived from boot 1" };
          check(`boot${boot}.${name}`, result.ok, result.detail);
        }

        const report: GuestReport = parseReport(await agentCommand(agentSocket, "report", 5 * 60_000));
        record.memoryPeakMiB = report.memoryPeakMiB;
        record.gatewayMemoryPeakMiB = report.gatewayMemoryPeakMiB;
        record.securityExposure = report.exposure;
        // First boot ends by closing user data for later boots (/etc/cloud/cloud-init.disabled, docs/zero-access.md), after
        // which `cloud-init status` says `disabled`; result.json, written when the last stage ends, still holds its errors.
        check(`boot${boot}.cloudInitDone`, cloudInitFinished(report), `status ${report.status}, errors ${JSON.stringify(report.errors).slice(0, 200)}`);
        check(`boot${boot}.cloudInitLogClean`, report.logProblems.length === 0, report.logProblems.length === 0 ? "no WARNING/ERROR/Traceback" : report.logProblems.slice(0, 3).join(" | "));
        const gateway = report.units["openclaw-gateway"] ?? {};
        check(`boot${boot}.gatewayHardened`, gateway.ActiveState === "active" && gateway.User === "openclaw" && report.gatewayProcessUser === "openclaw" &&
          gateway.NoNewPrivileges === "yes" && gateway.ProtectSystem === "strict" && Number(gateway.MemoryMax) > 0 && Number(gateway.MemoryMax) < 2 ** 40,
          `active=${gateway.ActiveState} user=${gateway.User}/${report.gatewayProcessUser} MemoryMax=${gateway.MemoryMax} NoNewPrivileges=${gateway.NoNewPrivileges} ProtectSystem=${gateway.ProtectSystem}`);
        const gatewayListens = report.listening.filter((socket) => /:18789$/.test(socket.local));
        check(`boot${boot}.gatewayLoopbackOnly`, gatewayListens.length > 0 && gatewayListens.every((socket) => /^(127\.0\.0\.1|\[::1\]):18789$/.test(socket.local)),
          gatewayListens.map((socket) => socket.local).join(", ") || "not listening");
        const publicTcp = report.listening.filter((socket) => socket.protocol === "tcp" && !/^(127\.|\[::1\]|\[::ffff:127\.)/.test(socket.local)).map((socket) => socket.local);
        check(`boot${boot}.onlyTlsListensPublicly`, publicTcp.every((local) => /:3000$/.test(local)) && publicTcp.length > 0, publicTcp.join(", "));
        for (const [unit, limit] of Object.entries(EXPOSURE_LIMITS)) {
          const exposure = report.exposure[unit];
          if (exposure === undefined) continue;
          check(`boot${boot}.exposure.${unit}`, exposure <= limit, `systemd-analyze security ${exposure} (limit ${limit})`);
        }
        check(`boot${boot}.stateDiskMounted`, /^\/dev\/\S+ \/var\/lib\/openclaw ext4/.test(report.stateMount), report.stateMount || "not mounted");
        // The ClawChat server seals with the AES-GCM addon its bundle carries (written to its PrivateTmp, loaded, removed),
        // or with node:crypto when this machine built the bundle without one (no gcc or libssl-dev).
        const expectedAead = existsSync(CLAWCHAT_AEAD_ADDON_PATH) ? "openssl-context" : "node-crypto";
        const aead = /"aead":"([a-z-]+)"/.exec(report.raw["clawchat-aead"] ?? "")?.[1];
        check(`boot${boot}.clawchatAead`, aead === expectedAead, aead ? `server_started says ${aead} (expected ${expectedAead})` : "no server_started line naming the AES-GCM backend");
        if (boot === 1) {
          firstFingerprint = fingerprint ?? "";
          firstGatewayToken = registration?.gatewayToken ?? "";
        } else {
          check("boot2.stateKept", fingerprint === firstFingerprint && registration?.gatewayToken === firstGatewayToken && report.stateConfigKept,
            `same TLS certificate: ${fingerprint === firstFingerprint}; same gateway token: ${registration?.gatewayToken === firstGatewayToken}; openclaw.json kept boot 1's model settings: ${report.stateConfigKept}`);
        }
        await agentCommand(agentSocket, "poweroff", 30_000).catch(() => "");
        const exited = await Promise.race([vm.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 180_000))]);
        if (!exited) vm.kill();
        check(`boot${boot}.cleanShutdown`, exited, exited ? "powered off" : "killed after 180 s");
      } finally {
        vm.kill();
        await phases;
      }
      const uuid = stateDiskUuid(stateDisk);
      if (boot === 1) firstStateUuid = uuid;
      else check("boot2.stateNotReformatted", uuid !== "" && uuid === firstStateUuid, `state filesystem UUID ${uuid} (boot 1: ${firstStateUuid})`);

      const secrets = standIns.registrations().flatMap((entry) => [entry.gatewayToken, entry.registrationToken, entry.hostToken]).filter((value) => value.length >= 32);
      const scan: SecretScan = scanForSecrets(rootDisk, stateDisk, secrets, bootDir);
      check(`boot${boot}.noSecretInLogs`, scan.inLogs.length === 0, scan.inLogs.length === 0 ? `none in ${scan.logFilesScanned} log and journal files` : scan.inLogs.join(", "));
      check(`boot${boot}.noSecretWorldReadable`, scan.worldReadable.length === 0, scan.worldReadable.length === 0 ? `none in ${scan.worldReadableScanned} world-readable files` : scan.worldReadable.join(", "));
      rmSync(rootDisk, { force: true });
    }
  } finally {
    for (const service of services.reverse()) await service.stop().catch(() => undefined);
  }
  const summary: BootSummary = {
    cloud,
    ok: checks.length > 0 && checks.every((entry) => entry.ok),
    checks,
    boots,
    imageBuildSeconds: image.builtSeconds,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    runDir,
  };
  writeFileSync(join(runDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}


/** Probe attempts until the host's timer (every 30 s under TCG, each run a CLI start) has approved the device. */
const PROXY_PAIRING_WAIT_MS = 10 * 60_000;

/**
 * The API's pairing probe (api/proxy/pairing-probe.ts), repeated: the first signed connect leaves the pending
 * request the host's timer approves; `paired` once the gateway grants the device its operator scopes.
 */
async function waitForProxyPairing(target: GatewayTarget, device: ProxyDeviceIdentity): Promise<{ paired: boolean; detail: string }> {
  const started = Date.now();
  const outcomes: string[] = [];
  while (Date.now() - started < PROXY_PAIRING_WAIT_MS) {
    const outcome = await probeProxyPairing(target, device, 60_000);
    if (outcomes[outcomes.length - 1] !== outcome) outcomes.push(outcome);
    if (outcome === "paired") return { paired: true, detail: `paired ${Math.round((Date.now() - started) / 1000)} s after the first probe (${outcomes.join(" → ")})` };
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
  return { paired: false, detail: `not paired within ${PROXY_PAIRING_WAIT_MS / 60_000} min (${outcomes.join(" → ")})` };
}
