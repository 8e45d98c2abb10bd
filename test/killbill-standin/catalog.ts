import { Router, type Request } from 'express';
import { randomUUID } from 'node:crypto';
import { bareStatus, catalogApiException } from './billing-exception.js';
import { catalogAt, phasesOf, type Catalog, type CatalogPrice } from './catalog-model.js';
import { CatalogValidationError, parseCatalogXml } from './catalog-xml.js';
import { formatDateTime, parseDateTime } from './joda-time.js';
import { sendCreated, sendJson, sendNoContent } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import { notify, type StandinContext } from './standin-context.js';
import type { TenantRecord } from './state.js';

/** CatalogResource: per-tenant catalog versions uploaded as XML, read back as XML or JSON. */

function prices(list: CatalogPrice[]): Record<string, unknown>[] {
  return list.map((p) => ({ currency: p.currency, value: p.value }));
}

/** CatalogJson for one version; tiered block size and max are strings in that model. */
export function catalogJson(catalog: Catalog): Record<string, unknown> {
  const plansOf = (product: string): Record<string, unknown>[] =>
    catalog.plans
      .filter((p) => p.product === product)
      .map((plan) => ({
        name: plan.name,
        prettyName: plan.prettyName ?? plan.name,
        recurringBillingMode: catalog.recurringBillingMode,
        billingPeriod: plan.billingPeriod,
        phases: phasesOf(plan).map((phase) => ({
          type: phase.type,
          prices: prices(phase.recurring?.prices ?? []),
          fixedPrices: prices(phase.fixedPrices),
          duration: { unit: phase.duration.unit, number: phase.duration.number },
          usages: phase.usages.map((usage) => ({
            billingPeriod: usage.billingPeriod,
            tiers: usage.tiers.map((tier) => ({
              limits: tier.limits.map((l) => ({ unit: l.unit, max: l.max, min: l.min })),
              fixedPrice: [],
              recurringPrice: [],
              blocks: tier.blocks.map((b) => ({
                unit: b.unit,
                size: b.sizeText,
                max: b.maxText,
                prices: prices(b.prices),
              })),
            })),
          })),
        })),
      }));
  return {
    name: catalog.name,
    effectiveDate: formatDateTime(catalog.effectiveDate),
    currencies: catalog.currencies,
    units: catalog.units.map((u) => ({ name: u.name, prettyName: u.prettyName ?? u.name })),
    products: catalog.products.map((p) => ({
      type: p.category,
      name: p.name,
      prettyName: p.prettyName ?? p.name,
      plans: plansOf(p.name),
      included: p.included,
      available: p.available,
    })),
    priceLists: catalog.priceLists.map((l) => ({ name: l.name, plans: l.plans })),
  };
}

function isXml(req: Request): boolean {
  const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'text/xml' || type === 'application/xml';
}

function parseForTenant(tenant: TenantRecord, xml: string): Catalog {
  let catalog: Catalog;
  try {
    catalog = parseCatalogXml(xml);
  } catch (err) {
    if (err instanceof CatalogValidationError) {
      throw catalogApiException(2080, `Invalid catalog for tenant : ${tenant.tenantId}: ${err.reason}`);
    }
    throw err;
  }
  const first = tenant.catalogVersions[0]?.catalog;
  if (first && first.name !== catalog.name) {
    throw catalogApiException(
      2052,
      `The catalog name '${first.name}' does not match the name of the catalog we are trying to add '${catalog.name}'`,
    );
  }
  if (
    tenant.catalogVersions.some((v) => v.catalog.effectiveDate.getTime() === catalog.effectiveDate.getTime())
  ) {
    throw catalogApiException(
      2080,
      `Invalid catalog for tenant : ${tenant.tenantId}: a version with effectiveDate ${formatDateTime(catalog.effectiveDate)} already exists`,
    );
  }
  return catalog;
}

function requestedDate(req: Request, now: Date): Date {
  const raw = typeof req.query.requestedDate === 'string' ? req.query.requestedDate : '';
  return (raw && parseDateTime(raw)) || now;
}

export function catalogRoutes(ctx: StandinContext): Router {
  const router = Router();

  router.post('/1.0/kb/catalog/xml', (req, res) => {
    if (!isXml(req)) throw bareStatus(415);
    const tenant = tenantOf(res);
    callContext(req);
    const xml = typeof req.body === 'string' ? req.body : '';
    const catalog = parseForTenant(tenant, xml);
    tenant.catalogVersions.push({ xml, catalog });
    notify(ctx, tenant, 'TENANT_CONFIG_CHANGE', 'TENANT_KVS', randomUUID(), null, { key: 'CATALOG' });
    sendCreated(req, res, '/1.0/kb/catalog');
  });

  router.post('/1.0/kb/catalog/xml/validate', (req, res) => {
    if (!isXml(req)) throw bareStatus(415);
    const tenant = tenantOf(res);
    callContext(req);
    const xml = typeof req.body === 'string' ? req.body : '';
    let errors: string[] = [];
    try {
      parseForTenant(tenant, xml);
    } catch (err) {
      errors = [err instanceof Error ? err.message : String(err)];
    }
    sendJson(res, 200, { catalogValidationErrors: errors.map((errorDescription) => ({ errorDescription })) });
  });

  router.get('/1.0/kb/catalog/xml', (req, res) => {
    const tenant = tenantOf(res);
    const version = catalogAt(
      tenant.catalogVersions.map((v) => v.catalog),
      requestedDate(req, ctx.now()),
    );
    const stored = tenant.catalogVersions.find((v) => v.catalog === version);
    if (!stored)
      throw catalogApiException(2050, `There is no catalog version that applies for the given date`);
    res.status(200).setHeader('Content-Type', 'text/xml');
    res.end(stored.xml);
  });

  router.get('/1.0/kb/catalog', (_req, res) => {
    const tenant = tenantOf(res);
    const versions = [...tenant.catalogVersions]
      .map((v) => v.catalog)
      .sort((a, b) => a.effectiveDate.getTime() - b.effectiveDate.getTime());
    sendJson(res, 200, versions.map(catalogJson));
  });

  router.delete('/1.0/kb/catalog', (req, res) => {
    const tenant = tenantOf(res);
    callContext(req);
    tenant.catalogVersions = [];
    sendNoContent(res);
  });

  return router;
}
