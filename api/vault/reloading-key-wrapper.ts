/**
 * The key wrapper of a running process: the wrapper of its key sources
 * (key-sources.ts), read again by `reload()` (a timer, SIGHUP) so a new
 * master key version arrives without a restart. It writes with the version
 * its heartbeat agreed on (`agree`): the highest one every live process holds
 * and nobody retired, so no process ever stores a data key another cannot
 * unwrap. When no version qualifies (its write version was retired and
 * nothing newer is held everywhere), it refuses to wrap rather than store a
 * data key under a retired version.
 */
import type { KeyWrapper, WrapContext } from "./key-wrapper";
import { VaultKeyError } from "./key-wrapper";
import { heldVersions, type KeySourceConfig, type KeySources, type KmsClients, primaryVersions, readKeySources, wrapperFrom } from "./key-sources";

export class ReloadingKeyWrapper implements KeyWrapper {
  private sources: KeySources;
  private inner: KeyWrapper;
  /** The agreed write version (undefined until agreed: the highest held). */
  private writeVersion: number | undefined;
  private refusal: string | undefined;
  /** Runs before every wrap (the heartbeat's freshness check). */
  beforeWrite: (() => Promise<void>) | undefined;

  constructor(
    private readonly config: KeySourceConfig,
    private readonly clients: KmsClients = {},
  ) {
    this.sources = readKeySources(config);
    this.inner = wrapperFrom(this.sources, clients, config);
  }

  get kind(): KeyWrapper["kind"] {
    return this.sources.primary;
  }

  /** Re-reads the key sources; true when they changed. Throws (keeping the old keys) when a source is unreadable. */
  reload(): boolean {
    const next = readKeySources(this.config);
    if (next.fingerprint === this.sources.fingerprint) return false;
    this.sources = next;
    this.rebuild();
    return true;
  }

  /** Versions of the primary kind held now, ascending. */
  primaryVersions(): number[] {
    return primaryVersions(this.sources);
  }

  heldVersions(): Record<string, number[]> {
    return heldVersions(this.sources);
  }

  /** Writes with `version` from now on, or refuses every wrap with `refusal`. */
  agree(version: number | undefined, refusal?: string): void {
    this.refusal = refusal;
    if (version === this.writeVersion) return;
    this.writeVersion = version;
    this.rebuild();
  }

  /** True while no version may be written with (see `agree`). */
  refusing(): boolean {
    return this.refusal !== undefined;
  }

  currentVersion(): number {
    return this.inner.currentVersion();
  }

  async wrap(context: WrapContext, dataKey: Buffer): Promise<{ wrapped: string; keyVersion: number }> {
    await this.beforeWrite?.();
    if (this.refusal !== undefined) throw new VaultKeyError(this.refusal);
    return this.inner.wrap(context, dataKey);
  }

  unwrap(context: WrapContext, wrapped: string, keyVersion: number, wrapKind?: string | null): Promise<Buffer> {
    return this.inner.unwrap(context, wrapped, keyVersion, wrapKind);
  }

  forgetUser(userId: string): void {
    this.inner.forgetUser(userId);
  }

  private rebuild(): void {
    this.inner = wrapperFrom(this.sources, this.clients, this.config, this.writeVersion);
  }
}
