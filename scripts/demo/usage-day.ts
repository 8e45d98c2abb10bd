import type { RatedUsage } from '../../test/support/rated-usage-dataframes.js';

export const HOUR = 3_600_000;

/** The demo's two customers: one meters instances and vCPUs, the other instances only. */
export const PROJECTS = [
  { name: 'acme-hpc', projectId: '5d3c2f4e8b1a4c6d9e0f1a2b3c4d5e6f', metrics: ['instance', 'vcpus'] },
  { name: 'globex-ml', projectId: '9a8b7c6d5e4f40312a1b0c9d8e7f6a5b', metrics: ['instance'] },
] as const;

/** A day of hourly rated usage: two VMs in the first project, one in the second, prices off the cent. */
export function dayOfUsage(start: number): RatedUsage[] {
  const [acme, globex] = PROJECTS;
  const usage: RatedUsage[] = [];
  for (let h = 0; h < 24; h++) {
    const begin = new Date(start + h * HOUR);
    for (const resourceId of ['vm-1', 'vm-2']) {
      usage.push({ begin, projectId: acme.projectId, metric: 'instance', price: '0.0425', resourceId });
      usage.push({
        begin,
        projectId: acme.projectId,
        metric: 'vcpus',
        price: '0.0137',
        qty: '4',
        resourceId,
      });
    }
    usage.push({
      begin,
      projectId: globex.projectId,
      metric: 'instance',
      price: h < 8 ? '0.118' : '0.0615',
      resourceId: 'gpu-1',
    });
  }
  return usage;
}
