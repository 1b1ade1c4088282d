// Caps how far V8 lets the heap grow past its live data before a full collection (the GOGC
// of Node). Left to itself, V8 picks a larger factor the faster a process allocates, which
// is exactly when a collector is busiest: under overload its RSS then grew by more than the
// records it held. A process-wide setting, so `sluice serve` applies it, not createApp.
import { setFlagsFromString } from 'node:v8';

/** Applies `runtime.heapGrowthPercent`; 0 keeps V8's own heuristics. `setFlags` is for tests. */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  if (percent > 0) setFlags(`--heap-growing-percent=${percent}`);
}
