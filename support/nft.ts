/**
 * The host firewall's part of a grant: elements of the rendered sets
 * `support_v4` / `support_v6` (flags interval, timeout) with a `timeout` of
 * the grant's remaining time, so the kernel itself closes port 22 at the end
 * even when the agent is gone. The script replaces both sets' contents in one
 * nft transaction.
 */
import { isIPv4 } from "node:net";
import type { InstalledGrant } from "./sshd.js";

export const NFT_TABLE = "inet clawstack";
export const SUPPORT_SETS = { v4: "support_v4", v6: "support_v6" } as const;

interface Block {
  family: "v4" | "v6";
  network: bigint;
  prefix: number;
  text: string;
  until: number;
}

function parse(cidr: string, until: number): Block {
  const [address, prefixText] = cidr.split("/") as [string, string];
  const prefix = Number(prefixText);
  if (isIPv4(address)) {
    return { family: "v4", network: address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n), prefix, text: cidr, until };
  }
  return { family: "v6", network: ipv6Bits(address), prefix, text: cidr, until };
}

function ipv6Bits(address: string): bigint {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const headParts = head ? head.split(":").filter(Boolean) : [];
  const tailParts = tail ? tail.split(":").filter(Boolean) : [];
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : 8 - headParts.length - tailParts.length).fill("0"), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}

function contains(outer: Block, inner: Block): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const width = outer.family === "v4" ? 32 : 128;
  const shift = BigInt(width - outer.prefix);
  return outer.network >> shift === inner.network >> shift;
}

/**
 * The set elements for the active grants at `now`: one per block, with the
 * latest end among the grants naming it. An interval set cannot hold
 * overlapping blocks, so a block inside another is left out; when the inner
 * one outlives the outer, the agent adds it back once the outer one ends (the
 * kernel never keeps a block open longer than a grant names it).
 */
export function supportElements(grants: readonly InstalledGrant[], now: number): { v4: Block[]; v6: Block[] } {
  const byText = new Map<string, Block>();
  for (const { grant } of grants) {
    const until = Date.parse(grant.notAfter);
    if (until <= now) continue;
    for (const cidr of grant.sources) {
      const block = parse(cidr, until);
      const seen = byText.get(block.text);
      if (!seen || seen.until < until) byText.set(block.text, block);
    }
  }
  const blocks = [...byText.values()].sort((a, b) => a.prefix - b.prefix);
  const kept: Block[] = [];
  for (const block of blocks) {
    const outer = kept.find((candidate) => contains(candidate, block));
    if (outer) continue;
    kept.push(block);
  }
  return { v4: kept.filter((block) => block.family === "v4"), v6: kept.filter((block) => block.family === "v6") };
}

/** The nft script: flush both sets, then add every element with its timeout in whole seconds (at least 1). */
export function supportSetScript(grants: readonly InstalledGrant[], now: number): string {
  const elements = supportElements(grants, now);
  const lines = [`flush set ${NFT_TABLE} ${SUPPORT_SETS.v4}`, `flush set ${NFT_TABLE} ${SUPPORT_SETS.v6}`];
  for (const family of ["v4", "v6"] as const) {
    const list = elements[family];
    if (list.length === 0) continue;
    const items = list.map((block) => `${block.text} timeout ${Math.max(1, Math.floor((block.until - now) / 1000))}s`);
    lines.push(`add element ${NFT_TABLE} ${SUPPORT_SETS[family]} { ${items.join(", ")} }`);
  }
  return `${lines.join("\n")}\n`;
}
