/**
 * How a size preset's memory is shared out. Small hosts were the ones that
 * OOM-killed gateways (reference: openclaw-gateway.md, complaint 6): the
 * gateway gets a hard cgroup cap and a V8 heap cap below it, ClawChat a small
 * fixed budget, the rest stays for the kernel, nginx and the page cache, and
 * hosts under 4 GiB get swap.
 */
export interface MemoryPlan {
  /** systemd `MemoryMax=` of the gateway unit, MiB. */
  gatewayMemoryMaxMiB: number;
  /** `--max-old-space-size` of the gateway's Node.js, MiB. */
  gatewayHeapMiB: number;
  clawchatMemoryMaxMiB: number;
  clawchatHeapMiB: number;
  /** Swap file size in MiB, or null when the host has 4 GiB or more. */
  swapMiB: number | null;
}

export const SWAP_BELOW_MIB = 4096;

export function planMemory(memoryMiB: number): MemoryPlan {
  const gatewayMemoryMaxMiB = Math.floor(memoryMiB * 0.75);
  return {
    gatewayMemoryMaxMiB,
    gatewayHeapMiB: Math.floor(gatewayMemoryMaxMiB * 0.7),
    clawchatMemoryMaxMiB: 192,
    clawchatHeapMiB: 128,
    swapMiB: memoryMiB < SWAP_BELOW_MIB ? Math.min(2048, Math.max(1024, memoryMiB)) : null,
  };
}
