import { expect } from 'chai';
import { buildDataframes, requestsOf } from './rated-usage-dataframes.js';

const H0 = new Date('2024-01-01T00:00:00Z');
const H1 = new Date('2024-01-01T01:00:00Z');

describe('buildDataframes', () => {
  it('makes one dataframe per period with points grouped by metric, prices kept as text', () => {
    const frames = buildDataframes([
      {
        begin: H0,
        projectId: 'a',
        metric: 'instance',
        price: '0.05',
        resourceId: 'vm-1',
        tags: { user_id: 'u1' },
      },
      { begin: H0, projectId: 'a', metric: 'vcpus', price: '0.02', qty: '2' },
      {
        begin: H1,
        projectId: 'a',
        metric: 'instance',
        price: '0.05',
        resourceId: 'vm-1',
        metadata: { flavor: 'm1' },
      },
    ]);
    expect(frames).to.deep.equal([
      {
        period: { begin: '2024-01-01T00:00:00Z', end: '2024-01-01T01:00:00Z' },
        usage: {
          instance: [
            {
              vol: { unit: 'instance', qty: '1' },
              rating: { price: '0.05' },
              groupby: { user_id: 'u1', id: 'vm-1', project_id: 'a' },
              metadata: {},
            },
          ],
          vcpus: [
            {
              vol: { unit: 'vcpus', qty: '2' },
              rating: { price: '0.02' },
              groupby: { id: 'a-vcpus', project_id: 'a' },
              metadata: {},
            },
          ],
        },
      },
      {
        period: { begin: '2024-01-01T01:00:00Z', end: '2024-01-01T02:00:00Z' },
        usage: {
          instance: [
            {
              vol: { unit: 'instance', qty: '1' },
              rating: { price: '0.05' },
              groupby: { id: 'vm-1', project_id: 'a' },
              metadata: { flavor: 'm1' },
            },
          ],
        },
      },
    ]);
  });

  it('refuses a second point CloudKitty would silently overwrite', () => {
    const point = { begin: H0, projectId: 'a', metric: 'instance', price: '0.05' };
    expect(() => buildDataframes([point, { ...point, price: '0.07' }])).to.throw(RangeError, /two points/);
    expect(buildDataframes([point, { ...point, resourceId: 'other' }])[0]?.usage.instance).to.have.length(2);
  });

  it('refuses prices and quantities that are not decimal text, and empty periods', () => {
    const point = { begin: H0, projectId: 'a', metric: 'instance', price: '0.05' };
    expect(() => buildDataframes([{ ...point, price: '1e-2' }])).to.throw(RangeError, /price/);
    expect(() => buildDataframes([{ ...point, qty: 'two' }])).to.throw(RangeError, /qty/);
    expect(() => buildDataframes([{ ...point, end: H0 }])).to.throw(RangeError, /end after/);
  });
});

describe('requestsOf', () => {
  const hour = (h: number, projects: number) =>
    buildDataframes(
      Array.from({ length: projects }, (_, p) =>
        ['instance', 'vcpus'].map((metric) => ({
          begin: new Date(H0.getTime() + h * 3_600_000),
          projectId: `p${p}`,
          metric,
          price: '0.01',
        })),
      ).flat(),
    );
  const points = (frames: ReturnType<typeof buildDataframes>) =>
    frames.flatMap((f) =>
      Object.values(f.usage).flatMap((ps) => ps.map((p) => `${f.period.begin} ${p.groupby.id}`)),
    );

  it('sends a period larger than a request takes in several frames of that period, every point once', () => {
    const big = hour(0, 60_000);
    const requests = [...requestsOf(big)];
    expect(requests.map((r) => points(r).length)).to.deep.equal([50_000, 50_000, 20_000]);
    expect(requests.flat().every((f) => f.period.begin === '2024-01-01T00:00:00Z')).to.equal(true);
    const sent = requests.flatMap(points);
    expect(new Set(sent).size).to.equal(120_000);
    expect(sent.sort()).to.deep.equal(points(big).sort());
  });

  it('keeps a day of small frames to a request, as before', () => {
    const frames = Array.from({ length: 30 }, (_, h) => hour(h, 1)).flat();
    expect([...requestsOf(frames)].map((r) => r.length)).to.deep.equal([24, 6]);
  });
});
