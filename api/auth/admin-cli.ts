/**
 * Operator commands, run in the same environment as the API (they read the
 * same configuration and open the same database):
 *
 *   npx tsx api/auth/admin-cli.ts create-admin <email>   create an admin account, password from stdin (the first admin)
 *   npx tsx api/auth/admin-cli.ts promote <email>        make a registered account admin
 *   npx tsx api/auth/admin-cli.ts master-key status      master key versions and how many data keys each wraps
 *   npx tsx api/auth/admin-cli.ts master-key add         add a new master key version to the key file
 *   npx tsx api/auth/admin-cli.ts master-key rewrap      re-wrap every data key under the newest version
 *   npx tsx api/auth/admin-cli.ts master-key retire <v>  drop version <v> from the key file once nothing uses it
 *   npx tsx api/auth/admin-cli.ts plan list              plans, their instance limits and how many accounts each has
 *   npx tsx api/auth/admin-cli.ts plan set <id> --max-instances <n> [--name <name>]   create or change a plan
 *   npx tsx api/auth/admin-cli.ts plan assign <email> <id>  put an account on a plan
 *
 * Nothing secret is printed. Exits non-zero on failure.
 */
import { randomBytes } from "node:crypto";
import { Command } from "commander";
import { ConfigError } from "../../core/errors";
import { loadConfig, type ApiConfig } from "../config";
import { openDatabase } from "../db/connect";
import { migrateToLatest } from "../db/migrate";
import { email, password } from "../http/schemas";
import { addKeyringVersion, loadKeyringFile, retireKeyringVersion } from "../vault/keyring";
import { keyWrapperFor } from "../vault/plugin";
import { Vault } from "../vault/vault";
import { countWrapsByVersion } from "../vault/wrapped-keys";
import { PasswordHasher } from "./password";
import { assignPlan, findPlan, listPlans, MAX_PLAN_INSTANCES, upsertPlan } from "./plans-repo";
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
  if (config.masterKeys !== undefined) {
    throw new ConfigError(
      "CLAWSTACK_MASTER_KEYS",
      `\`CLAWSTACK_MASTER_KEYS\` is set, so the keyring lives in your environment, not in a file: \`${command}\` edits the key file only. ` +
        "Add `<next version>:<base64 of 32 random bytes>` to the variable yourself, restart every API process, then run `master-key rewrap`.",
    );
  }
}

/** An audit entry for an operator command (actor `system`: whoever can reach the database), in the command's transaction. */
async function auditSystem(db: ReturnType<typeof openDatabase>["db"], action: string, target: string): Promise<void> {
  await db
    .insertInto("audit_log")
    .values({
      at: new Date().toISOString(),
      actor_user_id: null,
      actor_kind: "system",
      api_key_id: null,
      action,
      target,
      result: "ok",
      status_code: null,
      bytes_in: 0,
      bytes_out: 0,
      latency_ms: 0,
      ip: null,
      request_id: null,
    })
    .execute();
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
          const users = await db.selectFrom("users").select((eb) => eb.fn.countAll<string | number>().as("n")).where("plan_id", "=", row.id).executeTakeFirstOrThrow();
          out(`${row.id}\t${row.name}\tmax ${Number(row.max_instances)} instance(s)\t${Number(users.n)} account(s)`);
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
      });
    });

  masterKey
    .command("add")
    .description("add a fresh master key version to the key file (restart the API processes afterwards)")
    .action(() => {
      const cfg = config();
      requireKeyFile(cfg, "master-key add");
      const version = addKeyringVersion(cfg.masterKeyFile);
      out(`added master key version ${version} to ${cfg.masterKeyFile}`);
      out("next: restart every API process so it loads the new version, then run `master-key rewrap`");
    });

  masterKey
    .command("rewrap")
    .description("re-wrap every data key under the newest master key version (ciphertexts do not change)")
    .action(async () => {
      const cfg = config();
      await withDatabase(cfg, async (db) => {
        const vault = new Vault(db, keyWrapperFor(cfg), new PasswordHasher(cfg.passwordHashing));
        const { rewrapped } = await vault.rewrapAll();
        out(`re-wrapped ${rewrapped} data key(s) under version ${vault.wrapper.currentVersion()}`);
      });
    });

  masterKey
    .command("retire")
    .argument("<version>", "the old version to remove")
    .description("remove an old version from the key file; refused while a data key still uses it")
    .action(async (raw: string) => {
      const cfg = config();
      requireKeyFile(cfg, "master-key retire");
      const version = Number(raw);
      const ring = loadKeyringFile(cfg.masterKeyFile, { create: false });
      if (!ring.keys.has(version)) throw new Error(`\`version\`: the keyring has no version \`${raw}\``);
      if (version === ring.current) throw new Error(`\`version\`: ${version} is the current version; add a newer one first`);
      await withDatabase(cfg, async (db) => {
        const still = (await countWrapsByVersion(db)).get(`local:${version}`) ?? 0;
        if (still > 0) {
          throw new Error(`version ${version} still wraps ${still} data key(s): run \`master-key rewrap\` first`);
        }
      });
      retireKeyringVersion(cfg.masterKeyFile, version);
      out(`removed master key version ${version} from ${cfg.masterKeyFile}`);
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
