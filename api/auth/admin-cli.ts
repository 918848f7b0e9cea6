/**
 * Operator commands, run in the same environment as the API (they read the
 * same configuration and open the same database):
 *
 *   npx tsx api/auth/admin-cli.ts create-admin <email>   create an admin account, password from stdin (the first admin)
 *   npx tsx api/auth/admin-cli.ts promote <email>        make a registered account admin
 *   npx tsx api/auth/admin-cli.ts master-key status      master key versions, data keys each wraps, what every process holds
 *   npx tsx api/auth/admin-cli.ts master-key add         add a new master key version to the key file (processes reload it)
 *   npx tsx api/auth/admin-cli.ts master-key rewrap      re-wrap every data key under the newest version
 *   npx tsx api/auth/admin-cli.ts master-key retire <v>  retire version <v> once nothing uses it and no process writes with it
 *   npx tsx api/auth/admin-cli.ts jwt status             JWT signing key versions and what every API process holds and signs with
 *   npx tsx api/auth/admin-cli.ts jwt rotate             add a new JWT signing key (new tokens use it once every API process holds it)
 *   npx tsx api/auth/admin-cli.ts jwt retire <v>         retire key <v> once no token signed with it can still be valid
 *   npx tsx api/auth/admin-cli.ts gateway-token rotate <instance> --out <file>
 *                                                        a single-use registration token for the host's new gateway token, written to <file> (600)
 *
 * rewrap, retire and jwt rotate/retire refuse, naming the processes, while a
 * live process would lose data or tokens (api/vault/key-holders.ts); `--wait
 * <seconds>` retries until the refusal clears.
 *   npx tsx api/auth/admin-cli.ts plan list              plans, their instance limits and how many accounts each has
 *   npx tsx api/auth/admin-cli.ts plan set <id> --max-instances <n> [--name <name>]   create or change a plan
 *   npx tsx api/auth/admin-cli.ts plan assign <email> <id>  put an account on a plan
 *
 * Nothing secret is printed. Exits non-zero on failure.
 */
import { randomBytes } from "node:crypto";
import { existsSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { ConfigError } from "../../core/errors";
import { AuditLog } from "../audit/audit-log";
import { loadConfig, type ApiConfig } from "../config";
import { openDatabase } from "../db/connect";
import { migrateToLatest } from "../db/migrate";
import { email, password } from "../http/schemas";
import { getInstance } from "../jobs/instances-repo";
import { issueRegistrationToken } from "../registration/tokens";
import { gatewayRotationRefusal } from "../registration/gateway-tokens";
import {
  describeHolder,
  jwtRetireBlockers,
  jwtRotateBlockers,
  type KeyHolder,
  listHolders,
  masterKeyBlockers,
  recordRetirement,
  staleAfterMs,
} from "../vault/key-holders";
import { primaryVersions, readKeySources } from "../vault/key-sources";
import { addKeyringVersion, retireKeyringVersion } from "../vault/keyring";
import { keyWrapperFor } from "../vault/plugin";
import { Vault } from "../vault/vault";
import { countWrapsByVersion } from "../vault/wrapped-keys";
import { JWT_KEYS_FILE_NAME, JWT_KEYS_FORMAT, JWT_SECRET_FILE_NAME, readJwtKeys } from "./jwt-keys";
import { PasswordHasher } from "./password";
import { assignPlan, countAccountsOnPlan, findPlan, listPlans, MAX_PLAN_INSTANCES, upsertPlan } from "./plans-repo";
import { findUserByEmail, insertUser, setRole } from "./users-repo";

async function withDatabase<T>(config: ApiConfig, task: (db: ReturnType<typeof openDatabase>["db"]) => Promise<T>): Promise<T> {
  const handle = openDatabase(config.database, { poolSize: 2 });
  try {
    await migrateToLatest(handle.db);
    return await task(handle.db);
  } finally {
    await handle.close();
  }
}

function requireKeyFile(config: ApiConfig, command: string): void {
  if (config.kmsKeys !== undefined || config.kmsKeysFile !== undefined || config.gcpKmsKeys !== undefined || config.gcpKmsKeysFile !== undefined) {
    throw new ConfigError(
      config.gcpKmsKeys !== undefined || config.gcpKmsKeysFile !== undefined ? "CLAWSTACK_GCP_KMS_KEYS" : "CLAWSTACK_KMS_KEYS",
      `a KMS wraps new data keys: \`${command}\` edits the local key file only. Create the KMS key, append \`<next version>:<key>\` to the ` +
        "`_FILE` (processes reload it) or the variable (restart), then run `master-key rewrap`.",
    );
  }
  const variable = config.masterKeys !== undefined ? "CLAWSTACK_MASTER_KEYS" : config.masterKeysFile !== undefined ? "CLAWSTACK_MASTER_KEYS_FILE" : undefined;
  if (variable) {
    throw new ConfigError(
      variable,
      `\`${variable}\` is set, so the keyring lives in your secret store, not in the key file: \`${command}\` edits the key file only. ` +
        "Add `<next version>:<base64 of 32 random bytes>` yourself (to the file: every process reloads it; to the variable: restart every process), then run `master-key rewrap`.",
    );
  }
}

/**
 * Runs `check` until it finds nothing to refuse, for at most `--wait` seconds;
 * throws its last refusal otherwise.
 */
async function untilClear(waitSeconds: string | undefined, check: () => Promise<string | undefined>): Promise<void> {
  const waitMs = waitSeconds === undefined ? 0 : Number(waitSeconds) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > 3_600_000) {
    throw new Error(`\`--wait\`: seconds between 0 and 3600; given \`${waitSeconds}\``);
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const refusal = await check();
    if (refusal === undefined) return;
    if (Date.now() >= deadline) throw new Error(refusal);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function listProcesses(holders: readonly KeyHolder[], staleMs: number, what: "master" | "jwt", out: (line: string) => void): void {
  const now = Date.now();
  const shown = holders.filter((holder) => (what === "master" || holder.kind === "api") && holder.stoppedAt === null);
  if (shown.length === 0) out("processes: none reporting");
  for (const holder of shown) {
    const stale = Date.parse(holder.lastSeen) < now - staleMs;
    out(`${stale ? "stale (ignored) " : ""}${describeHolder(holder, what)}`);
  }
}

/** An audit entry for an operator command (actor `system`: whoever can reach the database), in the command's transaction. */
async function auditSystem(db: ReturnType<typeof openDatabase>["db"], action: string, target: string): Promise<void> {
  await new AuditLog(db).record({ action, result: "ok", actorKind: "system", target }, db);
}

/** Reads all of standard input (a password piped in or typed, ended by Ctrl-D). */
async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function buildCli(
  env: Record<string, string | undefined>,
  out: (line: string) => void,
  io: { readStdin?: () => Promise<string> } = {},
): Command {
  const program = new Command("admin-cli").description("ClawStack API operator commands").exitOverride();
  const config = () => loadConfig(env);

  program
    .command("create-admin")
    .argument("<email>", "the new admin's email")
    .description("create an admin account (the first one, or any later): the password is read from stdin, never from the command line")
    .action(async (address: string) => {
      const cfg = config();
      const parsedEmail = email.safeParse(address);
      if (!parsedEmail.success) throw new Error(`\`email\`: must be an email address; given ${JSON.stringify(address)}`);
      if (process.stdin.isTTY && !io.readStdin) process.stderr.write("password (at least 12 characters), then Ctrl-D: ");
      // One trailing newline (echo, a here-string) is not part of the password.
      const secret = (await (io.readStdin ?? readStandardInput)()).replace(/\r?\n$/, "");
      const parsedPassword = password.safeParse(secret);
      if (!parsedPassword.success) throw new Error(`\`password\` (stdin): ${parsedPassword.error.issues[0]?.message ?? "invalid"}`);
      await withDatabase(cfg, async (db) => {
        if (await findUserByEmail(db, parsedEmail.data)) {
          throw new Error(`\`email\`: an account with \`${parsedEmail.data}\` already exists; to make it admin run \`promote ${parsedEmail.data}\``);
        }
        const passwordHash = await new PasswordHasher(cfg.passwordHashing).hash(parsedPassword.data);
        const user = await db.transaction().execute(async (trx) => {
          const created = await insertUser(trx, { email: parsedEmail.data, passwordHash, role: "admin", keySalt: randomBytes(32).toString("base64") });
          await auditSystem(trx, "admin.user.create.cli", created.id);
          return created;
        });
        out(`${parsedEmail.data} (${user.id}) is an admin; sign in with POST /v1/auth/login`);
      });
    });

  program
    .command("promote")
    .argument("<email>", "the registered account to make admin")
    .description("give a registered account the admin role")
    .action(async (address: string) => {
      const email = address.trim().toLowerCase();
      await withDatabase(config(), async (db) => {
        const user = await findUserByEmail(db, email);
        if (!user) throw new Error(`no account with the email \`${email}\`: create it with \`create-admin ${email}\` (or have it register first)`);
        await db.transaction().execute(async (trx) => {
          await setRole(trx, user.id, "admin");
          await auditSystem(trx, "admin.user.promote.cli", user.id);
        });
        out(`${email} (${user.id}) is now an admin`);
      });
    });

  const plan = program.command("plan").description("plans and their instance limits");

  plan
    .command("list")
    .description("plans, their instance limits and how many accounts each has")
    .action(async () => {
      await withDatabase(config(), async (db) => {
        for (const row of await listPlans(db)) {
          const accounts = await countAccountsOnPlan(db, row.id);
          out(`${row.id}\t${row.name}\tmax ${Number(row.max_instances)} instance(s)\t${accounts} account(s)`);
        }
      });
    });

  plan
    .command("set")
    .argument("<id>", "plan id (lower-case letters, digits, dashes)")
    .requiredOption("--max-instances <n>", `instances an account on this plan may hold at once (0-${MAX_PLAN_INSTANCES})`)
    .option("--name <name>", "display name (default: the existing name, or the id)")
    .description("create a plan or change its limit")
    .action(async (id: string, options: { maxInstances: string; name?: string }) => {
      const maxInstances = /^\d+$/.test(options.maxInstances) ? Number(options.maxInstances) : Number.NaN;
      await withDatabase(config(), async (db) => {
        const saved = await db.transaction().execute(async (trx) => {
          const existing = await findPlan(trx, id);
          const upserted = await upsertPlan(trx, { id, name: options.name ?? existing?.name ?? id, maxInstances });
          await auditSystem(trx, "admin.plan.set.cli", id);
          return upserted;
        });
        out(`plan ${saved.id} (${saved.name}): max ${Number(saved.max_instances)} instance(s)`);
      });
    });

  plan
    .command("assign")
    .argument("<email>", "a registered account")
    .argument("<id>", "an existing plan")
    .description("put an account on a plan (fewer instances than it holds only stops new ones)")
    .action(async (address: string, id: string) => {
      const email = address.trim().toLowerCase();
      await withDatabase(config(), async (db) => {
        const user = await findUserByEmail(db, email);
        if (!user) throw new Error(`no account with the email \`${email}\``);
        await db.transaction().execute(async (trx) => {
          await assignPlan(trx, user.id, id);
          await auditSystem(trx, "admin.plan.assign.cli", user.id);
        });
        out(`${email} is now on the ${id} plan`);
      });
    });

  const masterKey = program.command("master-key").description("master key rotation (local key file)");

  masterKey
    .command("status")
    .description("key versions in the keyring and data keys wrapped under each")
    .action(async () => {
      const cfg = config();
      const wrapper = keyWrapperFor(cfg);
      await withDatabase(cfg, async (db) => {
        const counts = await countWrapsByVersion(db);
        const where = { local: "", kms: " (AWS KMS, CLAWSTACK_KMS_KEYS)", "gcp-kms": " (GCP Cloud KMS, CLAWSTACK_GCP_KMS_KEYS)" }[wrapper.kind];
        out(`current version: ${wrapper.currentVersion()}${where}`);
        for (const [key, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
          const [kind, version] = key.split(":");
          out(`${kind === "local" ? "" : `${kind} `}version ${version}: ${n} wrapped data key(s)`);
        }
        if (counts.size === 0) out("no wrapped data keys yet");
        listProcesses(await listHolders(db), staleAfterMs(cfg.keyReloadMs), "master", out);
      });
    });

  masterKey
    .command("add")
    .description("add a fresh master key version to the key file (every process reloads it)")
    .action(() => {
      const cfg = config();
      requireKeyFile(cfg, "master-key add");
      const version = addKeyringVersion(cfg.masterKeyFile);
      out(`added master key version ${version} to ${cfg.masterKeyFile}`);
      out(
        `every API and worker process loads it within ${cfg.keyReloadMs > 0 ? `${cfg.keyReloadMs} ms` : "its next SIGHUP (CLAWSTACK_KEY_RELOAD_MS=0)"} and wraps new data keys under it once all of them hold it; ` +
          "next: `master-key rewrap --wait 60`",
      );
    });

  /** Why `rewrap`/`retire` must wait, or undefined: a live process does not hold or write with the current version. */
  const masterRefusal = async (db: ReturnType<typeof openDatabase>["db"], cfg: ApiConfig, kind: string, current: number, command: string) => {
    const blockers = masterKeyBlockers(await listHolders(db), kind, current, staleAfterMs(cfg.keyReloadMs));
    if (blockers.length === 0) return undefined;
    return (
      `refused: \`${command}\` needs every live process to hold and write with ${kind} master key version ${current}, and ${blockers.length} do(es) not yet: ` +
      blockers.map((holder) => describeHolder(holder, "master")).join("; ") +
      ". Let them reload (SIGHUP, or wait CLAWSTACK_KEY_RELOAD_MS), or stop them; `--wait <seconds>` retries"
    );
  };

  masterKey
    .command("rewrap")
    .option("--wait <seconds>", "retry while a process refuses it, up to this long")
    .description("re-wrap every data key under the newest master key version (ciphertexts do not change)")
    .action(async (options: { wait?: string }) => {
      const cfg = config();
      await withDatabase(cfg, async (db) => {
        const vault = new Vault(db, keyWrapperFor(cfg), new PasswordHasher(cfg.passwordHashing));
        const current = vault.wrapper.currentVersion();
        await untilClear(options.wait, () => masterRefusal(db, cfg, vault.wrapper.kind, current, "master-key rewrap"));
        const { rewrapped } = await vault.rewrapAll();
        out(`re-wrapped ${rewrapped} data key(s) under version ${current}`);
      });
    });

  masterKey
    .command("retire")
    .argument("<version>", "the old version to remove")
    .option("--wait <seconds>", "retry while a process refuses it, up to this long")
    .description("retire an old version: refused while a data key still uses it or a live process does not write with the newest")
    .action(async (raw: string, options: { wait?: string }) => {
      const cfg = config();
      const sources = readKeySources(cfg);
      const kind = sources.primary;
      const versions = primaryVersions(sources);
      const current = Math.max(...versions);
      const version = Number(raw);
      const editsFile = kind === "local" && cfg.masterKeys === undefined && cfg.masterKeysFile === undefined;
      if (!versions.includes(version)) throw new Error(`\`version\`: the ${kind} keyring has no version \`${raw}\``);
      if (version === current) throw new Error(`\`version\`: ${version} is the current version; add a newer one first`);
      await withDatabase(cfg, async (db) => {
        await untilClear(options.wait, async () => {
          const still = (await countWrapsByVersion(db)).get(`${kind}:${version}`) ?? 0;
          if (still > 0) return `version ${version} still wraps ${still} data key(s): run \`master-key rewrap\` first`;
          return masterRefusal(db, cfg, kind, current, `master-key retire ${version}`);
        });
        // Recorded first: a process that still lists the version stops writing with it at its next beat.
        await db.transaction().execute(async (trx) => {
          await recordRetirement(trx, `master:${kind}`, version);
          await auditSystem(trx, "admin.master_key.retire.cli", `${kind}:${version}`);
        });
      });
      if (editsFile) {
        retireKeyringVersion(cfg.masterKeyFile, version);
        out(`removed master key version ${version} from ${cfg.masterKeyFile}`);
      } else {
        out(`retired ${kind} master key version ${version}: no process writes with it; now remove it from your key source (the variable or its _FILE)`);
      }
    });

  const jwt = program.command("jwt").description("JWT signing key rotation");
  const jwtFile = (cfg: ApiConfig) => join(cfg.dataDir, JWT_KEYS_FILE_NAME);
  const requireJwtFile = (cfg: ApiConfig, command: string) => {
    const variable = cfg.jwtKeys !== undefined ? "CLAWSTACK_JWT_KEYS" : cfg.jwtKeysFile !== undefined ? "CLAWSTACK_JWT_KEYS_FILE" : cfg.jwtSecret !== undefined ? "CLAWSTACK_JWT_SECRET" : undefined;
    if (variable) {
      throw new ConfigError(
        variable,
        `\`${variable}\` is set, so the JWT keys live in your secret store: \`${command}\` edits \`<data dir>/${JWT_KEYS_FILE_NAME}\` only. ` +
          "Put `1:<the current secret>,2:<base64 of 32 random bytes>` in `CLAWSTACK_JWT_KEYS_FILE` (every API process reloads it), then `jwt retire 1` when it allows.",
      );
    }
  };
  const graceMs = (cfg: ApiConfig) => (cfg.accessTokenTtlSeconds + 5) * 1000 + staleAfterMs(cfg.keyReloadMs);

  jwt
    .command("status")
    .description("JWT key versions and what every API process holds and signs with")
    .action(async () => {
      const cfg = config();
      const keys = readJwtKeys(cfg);
      out(`key versions: ${[...keys.keys.keys()].sort((a, b) => a - b).join(", ")} (newest ${keys.current}; ${keys.source === "file" ? "key file" : "environment"})`);
      await withDatabase(cfg, async (db) => listProcesses(await listHolders(db), staleAfterMs(cfg.keyReloadMs), "jwt", out));
    });

  jwt
    .command("rotate")
    .description("add a new JWT signing key: API processes reload it and sign with it once all of them hold it")
    .action(async () => {
      const cfg = config();
      requireJwtFile(cfg, "jwt rotate");
      const keys = readJwtKeys(cfg);
      await withDatabase(cfg, async (db) => {
        const blockers = jwtRotateBlockers(await listHolders(db), keys.current, staleAfterMs(cfg.keyReloadMs));
        if (blockers.length > 0) {
          throw new Error(
            `refused: the last rotation has not reached every API process (key ${keys.current} is not signing everywhere yet): ` +
              blockers.map((holder) => describeHolder(holder, "jwt")).join("; "),
          );
        }
        // The first rotation moves the generated `jwt-secret` into the key file as version 1.
        const version = addKeyringVersion(jwtFile(cfg), { ...JWT_KEYS_FORMAT, variable: "CLAWSTACK_DATA_DIR" }, existsSync(jwtFile(cfg)) ? undefined : keys.keys);
        await auditSystem(db, "admin.jwt.rotate.cli", String(version));
        out(`added JWT signing key ${version} to ${jwtFile(cfg)}; API processes sign with it once every one of them holds it`);
        out(`next, after one access-token lifetime (${cfg.accessTokenTtlSeconds} s): \`jwt retire ${keys.current} --wait ${cfg.accessTokenTtlSeconds + 60}\``);
      });
    });

  jwt
    .command("retire")
    .argument("<version>", "the old key to remove")
    .option("--wait <seconds>", "retry while it is refused, up to this long")
    .description("retire an old JWT key: refused while a token signed with it may still be valid")
    .action(async (raw: string, options: { wait?: string }) => {
      const cfg = config();
      const keys = readJwtKeys(cfg);
      const version = Number(raw);
      if (!keys.keys.has(version)) throw new Error(`\`version\`: the JWT key set has no version \`${raw}\``);
      if (version === keys.current) throw new Error(`\`version\`: ${version} is the newest key; rotate first`);
      const editsFile = keys.source === "file";
      if (editsFile && !existsSync(jwtFile(cfg))) throw new Error("no rotation yet: run `jwt rotate` first");
      await withDatabase(cfg, async (db) => {
        await untilClear(options.wait, async () => {
          const blockers = jwtRetireBlockers(await listHolders(db), version, graceMs(cfg));
          if (blockers.length === 0) return undefined;
          return (
            `refused: tokens signed with JWT key ${version} may still be valid: ` +
            blockers.map(({ holder, until }) => `${describeHolder(holder, "jwt")} (until ${until})`).join("; ") +
            "; `--wait <seconds>` retries"
          );
        });
        await db.transaction().execute(async (trx) => {
          await recordRetirement(trx, "jwt", version);
          await auditSystem(trx, "admin.jwt.retire.cli", String(version));
        });
      });
      if (editsFile) {
        retireKeyringVersion(jwtFile(cfg), version, { ...JWT_KEYS_FORMAT, variable: "CLAWSTACK_DATA_DIR" });
        // The generated secret was version 1: once retired, no copy of it stays behind.
        if (version === 1 && existsSync(join(cfg.dataDir, JWT_SECRET_FILE_NAME))) unlinkSync(join(cfg.dataDir, JWT_SECRET_FILE_NAME));
        out(`removed JWT key ${version} from ${jwtFile(cfg)}`);
      } else {
        out(`retired JWT key ${version}; now remove it from your key source (the variable or its _FILE)`);
      }
    });

  program
    .command("gateway-token")
    .description("a host's gateway token")
    .command("rotate")
    .argument("<instance>", "the instance id (inst_...)")
    .requiredOption("--out <file>", "where to write the single-use registration token (created with mode 600; never printed)")
    .description("start a gateway token rotation: a registration token (one hour) with which the host registers its new gateway token")
    .action(async (instanceId: string, options: { out: string }) => {
      if (existsSync(options.out)) throw new Error(`\`--out\`: \`${options.out}\` exists; name a new file`);
      await withDatabase(config(), async (db) => {
        const instance = await getInstance(db, instanceId);
        if (!instance) throw new Error(`\`instance\`: no instance \`${instanceId}\``);
        const refusal = gatewayRotationRefusal(instance);
        if (refusal) throw new Error(`\`instance\`: ${refusal}`);
        const issued = await db.transaction().execute(async (trx) => {
          const token = await issueRegistrationToken(trx, { instanceId, jobId: null });
          await auditSystem(trx, "admin.gateway_token.rotate.cli", instanceId);
          return token;
        });
        writeFileSync(options.out, `${issued.token}\n`, { mode: 0o600, flag: "wx" });
        out(`wrote a registration token for ${instanceId} to ${options.out} (single use, until ${issued.expiresAt}); on the host, follow docs/rotation.md "Gateway token"`);
      });
    });

  return program;
}

if (require.main === module) {
  buildCli(process.env, (line) => process.stdout.write(`${line}\n`))
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && code.startsWith("commander.")) {
        process.exit(code === "commander.helpDisplayed" || code === "commander.version" ? 0 : 2);
      }
      process.stderr.write(`${error instanceof ConfigError ? "configuration error" : "error"}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
