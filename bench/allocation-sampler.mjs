// `BENCH_SYNC_ALLOCATIONS=DIR`: preloaded into each bridge run of the sync bench. V8's sampling heap profiler,
// keeping the samples of objects already collected too, so the file shows where garbage is made, not only
// what is still alive. Written as DIR/allocations-PID.heapprofile (open in Chrome's DevTools, Memory tab).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_SYNC_ALLOCATIONS;
const session = new Session();
session.connect();
session.post('HeapProfiler.startSampling', {
  samplingInterval: 16384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.once('exit', () => {
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err)
      writeFileSync(join(dir, `allocations-${process.pid}.heapprofile`), JSON.stringify(result.profile));
  });
});
