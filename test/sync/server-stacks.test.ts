import { expect } from 'chai';
import { meteredStacks } from '../../src/sync/heat-attribution.js';
import { ownsRow, type RatedRow } from '../../src/sync/rated-usage-pull.js';
import { rowsByStack } from '../../src/sync/server-stacks.js';
import type { SubscriptionEntry } from '../../src/registry/metered-subscription.js';
import { meteredEntry } from '../support/metered-entry.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 1, 1);
/** A row as pulled grouped by resource: `stack` holds CloudKitty's `id`. */
const byResource = (h: number, type: string, resource: string | null, rate: string | null): RatedRow => ({
  beginMs: T0 + h * HOUR,
  type,
  stack: resource,
  rate,
});

describe('Heat attribution: resource rows become rows by stack (pure)', () => {
  const servers = new Map([
    ['vm-a1', 'stack-a'],
    ['vm-a2', 'stack-a'],
    ['vm-b1', 'stack-b'],
  ]);

  it('gives each server its stack and sums one period, type and stack exactly into one row', () => {
    const rows = rowsByStack(
      [
        byResource(0, 'instance', 'vm-a1', '0.30000000000000004'),
        byResource(0, 'instance', 'vm-a2', '0.19999999999999998'),
        byResource(0, 'vcpus', 'vm-a1', '0.02'),
        byResource(0, 'instance', 'vm-b1', '0.0031'),
        byResource(1, 'instance', 'vm-a1', '0.0125'),
      ],
      servers,
    );
    expect(rows).to.deep.equal([
      { beginMs: T0, type: 'instance', stack: 'stack-a', rate: '0.50000000000000002' },
      { beginMs: T0, type: 'vcpus', stack: 'stack-a', rate: '0.02' },
      { beginMs: T0, type: 'instance', stack: 'stack-b', rate: '0.0031' },
      { beginMs: T0 + HOUR, type: 'instance', stack: 'stack-a', rate: '0.0125' },
    ]);
  });

  it('puts servers of no metered stack, and rows without an id, together under no stack', () => {
    const rows = rowsByStack(
      [
        byResource(0, 'instance', 'loose-1', '0.0207'),
        byResource(0, 'instance', 'loose-2', '0.0001'),
        byResource(0, 'instance', null, '0.5'),
        byResource(0, 'instance', 'vm-b1', '0.1'),
      ],
      servers,
    );
    expect(rows).to.deep.equal([
      { beginMs: T0, type: 'instance', stack: null, rate: '0.5208' },
      { beginMs: T0, type: 'instance', stack: 'stack-b', rate: '0.1' },
    ]);
  });

  it('drops periods without data, and writes tiny sums without exponent notation', () => {
    const rows = rowsByStack(
      [byResource(0, 'instance', 'vm-a1', null), byResource(1, 'instance', 'vm-a1', '1e-9')],
      servers,
    );
    expect(rows).to.deep.equal([
      { beginMs: T0 + HOUR, type: 'instance', stack: 'stack-a', rate: '0.000000001' },
    ]);
  });

  it('leaves ownership to ownsRow, as with the groupby attribute', () => {
    const rows = rowsByStack(
      [
        byResource(0, 'instance', 'vm-a1', '1'),
        byResource(0, 'instance', 'vm-b1', '2'),
        byResource(0, 'instance', 'loose', '4'),
      ],
      servers,
    );
    const owned = (share: Parameters<typeof ownsRow>[0]) =>
      rows.filter((r) => ownsRow(share, r.stack)).map((r) => r.rate);
    expect(owned({ stackId: 'stack-a' })).to.deep.equal(['1']);
    expect(owned({ stackId: null, otherStacks: ['stack-a'] })).to.deep.equal(['2', '4']);
  });
});

describe('Heat attribution: which stacks a pull looks up', () => {
  const entry = (over: Partial<SubscriptionEntry>): SubscriptionEntry => ({
    ...meteredEntry({ projectId: 'P1', since: '2025-01-01T00:00:00.000Z' }),
    ...over,
  });
  const range = { begin: new Date(T0), end: new Date(T0 + 24 * HOUR) };

  it('each cluster’s stack with its name, and the stacks the rest leaves to others, per project', () => {
    const stacks = meteredStacks(
      [
        entry({ subscriptionId: 'rest', otherStacks: ['stack-a', 'stack-c'] }),
        entry({ subscriptionId: 'a', stackId: 'stack-a', stackName: 'cluster-a' }),
        entry({ subscriptionId: 'x', projectId: 'P2-UPPER', stackId: 'stack-x' }),
        entry({ subscriptionId: 'alone', projectId: 'P3' }),
      ],
      range,
    );
    expect([...stacks].map(([p, s]) => [p, [...s]])).to.deep.equal([
      [
        'p1',
        [
          ['stack-a', 'cluster-a'],
          ['stack-c', null],
        ],
      ],
      ['p2upper', [['stack-x', null]]],
    ]);
  });

  it('skips clusters whose span does not meet the range (Heat may have purged their stacks)', () => {
    const stacks = meteredStacks(
      [
        entry({ subscriptionId: 'old', stackId: 'stack-old', until: '2025-01-15T00:00:00.000Z' }),
        entry({ subscriptionId: 'later', stackId: 'stack-later', since: '2025-03-01T00:00:00.000Z' }),
        entry({
          subscriptionId: 'ending',
          stackId: 'stack-ending',
          until: new Date(T0 + HOUR).toISOString(),
        }),
      ],
      range,
    );
    expect([...stacks].map(([p, s]) => [p, [...s.keys()]])).to.deep.equal([['p1', ['stack-ending']]]);
  });
});
