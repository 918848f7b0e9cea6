import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { connect, type Socket } from "node:net";

/** A guest port forwarded to 127.0.0.1 on the host (user-mode networking). */
export interface Forward {
  protocol: "tcp" | "udp";
  guestPort: number;
  hostPort: number;
}

export interface VmOptions {
  kernel: string;
  initrd: string;
  rootDisk: string;
  /** The state disk: a SCSI disk whose vendor, product and device id make the cloud's by-id name. */
  stateDisk: { path: string; vendor: string; product: string; deviceId: string };
  seedIso: string;
  memoryMiB: number;
  cpus: number;
  forwards: Forward[];
  consoleLog: string;
  agentSocket: string;
  /** QEMU's human monitor on a Unix socket: forwards added while the guest runs (hostfwdAdd). */
  monitorSocket: string;
  accel: "kvm" | "tcg";
}

/** One running guest: its serial console as timestamped lines, and the test agent's channel. */
export interface Vm {
  process: ChildProcess;
  startedAt: number;
  /** Console lines with the host time (ms since `startedAt`) they arrived at. */
  lines: { ms: number; text: string }[];
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<{ ms: number; text: string }>;
  exited: Promise<number | null>;
  kill(): void;
}

export function startVm(options: VmOptions): Vm {
  const netdev = ["user", "id=net0", ...options.forwards.map((f) => `hostfwd=${f.protocol}:127.0.0.1:${f.hostPort}-:${f.guestPort}`)].join(",");
  const { stateDisk } = options;
  const args = [
    "-machine", `q35,accel=${options.accel}`,
    "-cpu", options.accel === "kvm" ? "host" : "max",
    "-m", String(options.memoryMiB),
    "-smp", String(options.cpus),
    "-display", "none",
    "-no-reboot",
    "-serial", "stdio",
    "-kernel", options.kernel,
    "-initrd", options.initrd,
    "-append", "root=/dev/vda rw console=ttyS0 quiet",
    "-drive", `file=${options.rootDisk},if=virtio,format=raw`,
    "-drive", `file=${options.seedIso},if=virtio,format=raw,readonly=on`,
    "-device", "virtio-scsi-pci,id=scsi0",
    "-drive", `file=${stateDisk.path},if=none,id=state,format=raw`,
    "-device", `scsi-hd,bus=scsi0.0,drive=state,vendor=${stateDisk.vendor},product=${stateDisk.product},device_id=${stateDisk.deviceId},serial=${stateDisk.deviceId}`,
    "-netdev", netdev,
    "-device", "virtio-net-pci,netdev=net0",
    "-device", "virtio-serial-pci",
    "-chardev", `socket,id=agent,path=${options.agentSocket},server=on,wait=off`,
    "-device", "virtserialport,chardev=agent,name=clawstack.boot",
    "-monitor", `unix:${options.monitorSocket},server=on,wait=off`,
  ];
  const startedAt = Date.now();
  const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(options.consoleLog);
  const lines: { ms: number; text: string }[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: { ms: number; text: string }) => void }>();
  let partial = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    log.write(chunk);
    partial += chunk.toString("utf8");
    const parts = partial.split(/\r?\n/);
    partial = parts.pop() ?? "";
    for (const text of parts) {
      const line = { ms: Date.now() - startedAt, text };
      lines.push(line);
      for (const waiter of [...waiters]) if (waiter.pattern.test(text)) waiter.resolve(line);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    process: child,
    startedAt,
    lines,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    waitForLine: (pattern, timeoutMs) => {
      const seen = lines.find((line) => pattern.test(line.text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: { ms: number; text: string }) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`console: no line matching ${pattern} within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => {
          if (waiters.has(waiter)) {
            clearTimeout(timer);
            waiters.delete(waiter);
            reject(new Error(`the guest stopped before a console line matched ${pattern}`));
          }
        });
      });
    },
  };
}

/**
 * The test agent's channel (boot/image/guest/agent.sh): one command, its output
 * up to `=== done <command>`.
 */
export async function agentCommand(socketPath: string, command: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(socketPath) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const socket: Socket = connect(socketPath);
  return new Promise((resolve, reject) => {
    let output = "";
    const name = command.split(" ")[0]!;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`agent: no answer to ${name} within ${Math.round(timeoutMs / 1000)} s`));
    }, Math.max(1000, deadline - Date.now()));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk) => {
      output += chunk.toString("utf8");
      const end = output.indexOf(`=== done ${name}`);
      if (end >= 0) {
        clearTimeout(timer);
        socket.end();
        resolve(output.slice(0, end));
      }
    });
    socket.on("connect", () => socket.write(`${command}\n`));
  });
}

/** Adds a forward from 127.0.0.1:`hostPort` to the guest's `guestPort` on the running guest (HMP `hostfwd_add`). */
export async function hostfwdAdd(monitorSocket: string, protocol: "tcp" | "udp", hostPort: number, guestPort: number): Promise<void> {
  const socket: Socket = connect(monitorSocket);
  const output = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, 5000);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      // The banner's prompt, then the command's echo and a second prompt.
      if ((text.match(/\(qemu\)/g) ?? []).length >= 2) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.on("connect", () => socket.write(`hostfwd_add net0 ${protocol}:127.0.0.1:${hostPort}-:${guestPort}\n`));
  });
  if (/could not|error|invalid/i.test(output)) throw new Error(`hostfwd_add ${protocol} ${hostPort}->${guestPort}: ${output.replace(/\s+/g, " ").slice(-160)}`);
}
