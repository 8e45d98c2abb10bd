import { Router, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import { BigDecimal } from './big-decimal.js';
import { BillingException, bareStatus, illegalArgument, usageApiException } from './billing-exception.js';
import { requireSubscription } from './entitlements.js';
import { formatDateTime, parseDateTime } from './joda-time.js';
import { parseJsonWithDecimals } from './json-decimals.js';
import { sendEmpty, sendJson } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import type { StandinContext } from './standin-context.js';
import type { UsageRow } from './state.js';

/**
 * UsageResource: record consumable usage (validated in the server's order, deduplicated per
 * subscription and trackingId, nothing stored on refusal, no event) and read it back rolled up.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ParsedRecord {
  unitType: string;
  recordDate: Date;
  amount: BigDecimal;
}

/** Jackson's binding errors come before any resource check. */
function bindingError(message: string): BillingException {
  return new BillingException(400, 'com.fasterxml.jackson.databind.JsonMappingException', null, message);
}

function toDecimal(v: unknown): BigDecimal | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  if (v instanceof BigDecimal) return v;
  if (typeof v === 'string') {
    try {
      return new BigDecimal(v.trim());
    } catch {
      throw bindingError(`Cannot deserialize value of type \`java.math.BigDecimal\` from String "${v}"`);
    }
  }
  throw bindingError('Cannot deserialize value of type `java.math.BigDecimal`');
}

function parseBody(req: Request): {
  subscriptionId: string;
  trackingId: string | null;
  records: ParsedRecord[];
} {
  const raw = typeof req.body === 'string' ? req.body : '';
  let body: unknown = null;
  if (raw.trim()) {
    try {
      body = parseJsonWithDecimals(raw);
    } catch (err) {
      throw new BillingException(
        400,
        'com.fasterxml.jackson.core.JsonParseException',
        null,
        (err as Error).message,
      );
    }
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw illegalArgument('SubscriptionUsageRecordJson body should be specified');
  }
  const json = body as Record<string, unknown>;
  if (
    json.subscriptionId != null &&
    (typeof json.subscriptionId !== 'string' || !UUID.test(json.subscriptionId))
  ) {
    throw bindingError(
      `Cannot deserialize value of type \`java.util.UUID\` from String "${String(json.subscriptionId)}"`,
    );
  }
  if (!json.subscriptionId)
    throw illegalArgument('SubscriptionUsageRecordJson subscriptionId needs to be set');
  if (!Array.isArray(json.unitUsageRecords)) {
    throw illegalArgument('SubscriptionUsageRecordJson unitUsageRecords needs to be set');
  }
  if (!json.unitUsageRecords.length) throw illegalArgument('json.getUnitUsageRecords() is empty');
  const records: ParsedRecord[] = [];
  for (const unit of json.unitUsageRecords as Record<string, unknown>[]) {
    const unitType = unit?.unitType;
    if (typeof unitType !== 'string' || !unitType)
      throw illegalArgument('UnitUsageRecordJson unitType need to be set');
    const usageRecords = unit.usageRecords;
    if (!Array.isArray(usageRecords) || !usageRecords.length) {
      throw illegalArgument('UnitUsageRecordJson usageRecords must have at least one element.');
    }
    for (const r of usageRecords as Record<string, unknown>[]) {
      const amount = toDecimal(r?.amount);
      if (amount == null) throw illegalArgument('UsageRecordJson amount needs to be set');
      if (r.recordDate == null) throw illegalArgument('UsageRecordJson recordDate needs to be set');
      const recordDate = typeof r.recordDate === 'string' ? parseDateTime(r.recordDate) : null;
      if (!recordDate)
        throw bindingError(
          `Cannot deserialize value of type \`org.joda.time.DateTime\` from "${String(r.recordDate)}"`,
        );
      // The column is decimal(18,9): MySQL rounds extra places half away from zero.
      records.push({ unitType, recordDate, amount: amount.toDecimalPlaces(9, BigDecimal.ROUND_HALF_UP) });
    }
  }
  const trackingId = typeof json.trackingId === 'string' && json.trackingId ? json.trackingId : null;
  return { subscriptionId: json.subscriptionId as string, trackingId, records };
}

function rangeParam(req: Request, name: string): Date {
  const raw = req.query[name];
  const at = typeof raw === 'string' ? parseDateTime(raw) : null;
  if (!at) throw illegalArgument(`Invalid format: "${String(raw)}"`);
  return at;
}

export function usageRoutes(ctx: StandinContext): Router {
  const router = Router();

  router.post('/1.0/kb/usages', (req, res) => {
    const type = (req.get('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw bareStatus(415);
    const tenant = tenantOf(res);
    const { subscriptionId, trackingId, records } = parseBody(req);
    callContext(req);
    const sub = requireSubscription(ctx, tenant, subscriptionId);
    const latest = Math.max(...records.map((r) => r.recordDate.getTime()));
    if (sub.cancelledDate && sub.cancelledDate.getTime() < latest) throw bareStatus(400);
    if (
      trackingId &&
      ctx.state.usage.some(
        (u) =>
          u.tenantId === tenant.tenantId &&
          u.subscriptionId === subscriptionId &&
          u.trackingId === trackingId,
      )
    ) {
      throw usageApiException(50000, `A usage record with tracking ID ${trackingId} already exists`);
    }
    const stored = trackingId ?? randomUUID();
    for (const r of records) {
      const row: UsageRow = { tenantId: tenant.tenantId, subscriptionId, trackingId: stored, ...r };
      ctx.state.usage.push(row);
    }
    sendEmpty(res, 201);
  });

  const rolledUp = (req: Request, res: Response, unitType: string | null): void => {
    const tenant = tenantOf(res);
    // Both bounds are required even though the spec marks them optional; without one the answer is a bare 400.
    if (req.query.startDate === undefined || req.query.endDate === undefined) throw bareStatus(400);
    const start = rangeParam(req, 'startDate');
    const end = rangeParam(req, 'endDate');
    const sub = requireSubscription(ctx, tenant, String(req.params.subscriptionId));
    const sums = usageBetween(ctx, sub.subscriptionId, start, end);
    sendJson(res, 200, {
      subscriptionId: sub.subscriptionId,
      startDate: formatDateTime(start),
      endDate: formatDateTime(end),
      rolledUpUnits: [...sums]
        .filter(([unit]) => unitType === null || unit === unitType)
        .map(([unit, amount]) => ({ unitType: unit, amount })),
    });
  };

  router.get('/1.0/kb/usages/:subscriptionId/:unitType', (req, res) =>
    rolledUp(req, res, req.params.unitType),
  );
  router.get('/1.0/kb/usages/:subscriptionId', (req, res) => rolledUp(req, res, null));

  return router;
}

/** Rolled-up amount per unit of a subscription over [start, end), for invoicing. */
export function usageBetween(
  ctx: StandinContext,
  subscriptionId: string,
  start: Date,
  end: Date,
): Map<string, BigDecimal> {
  const sums = new Map<string, BigDecimal>();
  for (const u of ctx.state.usage) {
    if (u.subscriptionId !== subscriptionId) continue;
    const t = u.recordDate.getTime();
    if (t < start.getTime() || t >= end.getTime()) continue;
    sums.set(u.unitType, (sums.get(u.unitType) ?? new BigDecimal(0)).plus(u.amount));
  }
  return sums;
}
