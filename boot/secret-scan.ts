import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where secrets turned up on a powered-off guest's disks (paths only, never the values). */
export interface SecretScan {
  inLogs: string[];
  worldReadable: string[];
  logFilesScanned: number;
  worldReadableScanned: number;
}

/** Files under `root` whose content holds any of the strings in `patternFile` (grep -F). */
function filesContaining(files: string[], patternFile: string): string[] {
  const found: string[] = [];
  for (let index = 0; index < files.length; index += 500) {
    try {
      const out = execFileSync("grep", ["-laF", "-f", patternFile, "--", ...files.slice(index, index + 500)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      found.push(...out.split("\n").filter(Boolean));
    } catch {
      // grep exits 1 when nothing matches
    }
  }
  return found;
}

function list(command: string): string[] {
  return execFileSync("sh", ["-c", command], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }).split("\n").filter(Boolean);
}

/**
 * Mounts the guest's root and state disks read-only (loop devices, as root)
 * after shutdown and looks for the secrets the host handled (gateway token,
 * registration token) in every log and journal file and in every
 * world-readable file. Root-only files (user-data, state/.env) may hold them.
 */
export function scanForSecrets(rootDisk: string, stateDisk: string, secrets: string[], workDir: string): SecretScan {
  const patternFile = join(workDir, "secret-patterns");
  writeFileSync(patternFile, `${secrets.join("\n")}\n`, { mode: 0o600 });
  const rootMount = join(workDir, "mnt-root");
  const stateMount = join(workDir, "mnt-state");
  mkdirSync(rootMount, { recursive: true });
  mkdirSync(stateMount, { recursive: true });
  execFileSync("mount", ["-o", "loop,ro,noexec,nodev", rootDisk, rootMount]);
  try {
    execFileSync("mount", ["-o", "loop,ro,noexec,nodev", stateDisk, stateMount]);
    try {
      const logs = list(`find '${rootMount}/var/log' -type f`);
      // World-readable: readable by "other" and every directory above it searchable by "other".
      const worldReadable = [rootMount, stateMount].flatMap((mount) =>
        list(`find '${mount}' -xdev \\( -type d ! -perm -o=x -prune \\) -o \\( -type f -perm -o=r -size -50M -print \\)`),
      );
      const strip = (path: string) => path.replace(rootMount, "").replace(stateMount, "/var/lib/openclaw");
      return {
        inLogs: filesContaining(logs, patternFile).map(strip),
        worldReadable: filesContaining(worldReadable, patternFile).map(strip),
        logFilesScanned: logs.length,
        worldReadableScanned: worldReadable.length,
      };
    } finally {
      execFileSync("umount", [stateMount]);
    }
  } finally {
    execFileSync("umount", [rootMount]);
    writeFileSync(patternFile, "");
  }
}
