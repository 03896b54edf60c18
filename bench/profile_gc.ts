/**
 * Heap and GC figures of a running program, for `docs/performance.md`: preload it into
 * the stack host and it prints one JSON line when the process gets SIGINT or SIGTERM.
 *
 *   bun --preload ./bench/profile_gc.ts bench/stack_host.ts --tun tun0
 *   (profile_tun.ts does this with --gc)
 *
 * JSC does not count collections for us, so this measures their effect instead: the
 * heap size sampled every 100 ms (its sawtooth is the allocation rate between
 * collections), the peak RSS, and the live objects by type at the end.
 */
import { heapStats, memoryUsage } from "bun:jsc";

const SAMPLE_MS = 100;
let samples = 0;
let heapMax = 0;
let heapSum = 0;
let drops = 0;
let allocatedEstimate = 0;
let last = heapStats().heapSize;

const timer = setInterval(() => {
  const size = heapStats().heapSize;
  samples++;
  heapSum += size;
  heapMax = Math.max(heapMax, size);
  // A drop is a collection; growth between samples is (at least) what was allocated.
  if (size < last) drops++;
  else allocatedEstimate += size - last;
  last = size;
}, SAMPLE_MS);
timer.unref();

function report(): void {
  const stats = heapStats();
  const counts = Object.entries(stats.objectTypeCounts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  console.log(
    `gc: ${JSON.stringify({
      samples,
      heapMaxMB: +(heapMax / 1e6).toFixed(1),
      heapMeanMB: +(heapSum / Math.max(1, samples) / 1e6).toFixed(1),
      heapDropsSeen: drops,
      allocatedAtLeastMB: +(allocatedEstimate / 1e6).toFixed(0),
      peakRssMB: +(memoryUsage().peak / 1e6).toFixed(0),
      liveObjects: stats.objectCount,
      topTypes: Object.fromEntries(counts),
    })}`,
  );
}

process.once("SIGINT", report);
process.once("SIGTERM", report);
