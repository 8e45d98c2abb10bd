// `BENCH_SYNC_ALLOCATIONS=DIR`: preloaded into each bridge run of the sync bench. V8's sampling heap profiler,
// keeping the samples of objects already collected too, so the file shows where garbage is made, not only
// what is still alive. Written as DIR/allocations-PID.heapprofile (open in Chrome's DevTools, Memory tab),
// with DIR/gc-PID.json: how many collections of each kind ran and how long they took.
import { Session } from 'node:inspector';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const dir = process.env.BENCH_SYNC_ALLOCATIONS;
mkdirSync(dir, { recursive: true });
const session = new Session();
session.connect();
session.post('HeapProfiler.startSampling', {
  samplingInterval: 16384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
const gc = {};
const count = (entries) => {
  for (const e of entries) {
    const kind = KINDS[e.detail?.kind] ?? String(e.detail?.kind);
    gc[kind] ??= { count: 0, ms: 0 };
    gc[kind].count++;
    gc[kind].ms += e.duration;
  }
};
const observer = new PerformanceObserver((list) => count(list.getEntries()));
observer.observe({ entryTypes: ['gc'] });
process.once('exit', () => {
  count(observer.takeRecords());
  writeFileSync(join(dir, `gc-${process.pid}.json`), JSON.stringify(gc, null, 2));
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err)
      writeFileSync(join(dir, `allocations-${process.pid}.heapprofile`), JSON.stringify(result.profile));
  });
});
