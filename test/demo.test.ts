import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

describe('npm run demo', function () {
  this.timeout(240_000);

  it('runs the whole flow non-interactively, prints recorded == CloudKitty and an invoice preview, leaves nothing behind', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      env: { ...process.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, `${out}\n${err}`).to.equal(0);

    const table = out.split('\n').filter((l) => /^\s+(acme-hpc|globex-ml)\s+openstack-billed-/.test(l));
    expect(table, out).to.have.length(3);
    for (const row of table) {
      const [recorded, expected] = [...row.matchAll(/\b(\d+\.\d{2})\b/g)].map((m) => m[1]);
      expect(recorded, row).to.equal(expected);
      expect(row.trim().endsWith('0.00'), row).to.equal(true);
    }
    expect(out).to.match(/acme-hpc: \d+(\.\d+)? USD/);
    expect(out).to.match(/USAGE openstack-usage-billing-instance/);
    expect(out).to.include('done: no process or temp folder left behind');

    const redisUrl = /redis-server on (redis:\/\/[^ ]+) \(data in ([^)]+)\)/.exec(out)!;
    const ck = /CloudKitty at (http:\/\/[^ ]+) \(state in ([^)]+)\)/.exec(out)!;
    expect(await portOpen(redisUrl[1]!)).to.equal(false);
    expect(await portOpen(ck[1]!)).to.equal(false);
    expect(existsSync(redisUrl[2]!)).to.equal(false);
    expect(existsSync(ck[2]!)).to.equal(false);
  });
});
