import { Router, type Request } from 'express';
import { randomUUID } from 'node:crypto';
import { accountApiException, illegalArgument, objectDoesNotExist } from './billing-exception.js';
import { formatDateTime, isValidTimeZone, parseDateTime } from './joda-time.js';
import { sendCreated, sendJson, sendNoContent, sendPage } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import { notify, type StandinContext } from './standin-context.js';
import type { AccountRecord, TenantRecord } from './state.js';

/** AccountResource: create, read (by id, by key, paginated) and update accounts. */

const STRING_FIELDS = [
  'name',
  'email',
  'parentAccountId',
  'paymentMethodId',
  'address1',
  'address2',
  'postalCode',
  'company',
  'city',
  'state',
  'country',
  'locale',
  'phone',
  'notes',
] as const;

/** Fields Kill Bill refuses to change once set (DefaultMutableAccountData.validateAccountUpdateInput). */
const IMMUTABLE_ONCE_SET = ['externalKey', 'currency', 'timeZone'] as const;

export function requireAccount(ctx: StandinContext, tenant: TenantRecord, accountId: string): AccountRecord {
  const account = ctx.state.accounts.get(accountId);
  if (!account || account.tenantId !== tenant.tenantId) throw objectDoesNotExist(accountId, 'ACCOUNT');
  return account;
}

export function accountJson(a: AccountRecord, withBalance = false): Record<string, unknown> {
  return {
    accountId: a.accountId,
    name: a.name,
    firstNameLength: a.firstNameLength,
    externalKey: a.externalKey,
    email: a.email,
    billCycleDayLocal: a.billCycleDayLocal,
    currency: a.currency,
    parentAccountId: a.parentAccountId,
    isPaymentDelegatedToParent: a.isPaymentDelegatedToParent,
    paymentMethodId: a.paymentMethodId,
    referenceTime: formatDateTime(a.referenceTime),
    timeZone: a.timeZone,
    address1: a.address1,
    address2: a.address2,
    postalCode: a.postalCode,
    company: a.company,
    city: a.city,
    state: a.state,
    country: a.country,
    locale: a.locale,
    phone: a.phone,
    notes: a.notes,
    isMigrated: a.isMigrated,
    // No invoices or payments exist in the stand-in, so a requested balance is always zero.
    accountBalance: withBalance ? 0 : null,
    accountCBA: withBalance ? 0 : null,
    auditLogs: [],
  };
}

type AccountBody = Partial<Record<string, unknown>>;

function stringOrNull(body: AccountBody, key: string): string | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw illegalArgument(`AccountJson ${key} must be a string`);
  return v;
}

function checkCurrencyAndZone(body: AccountBody): void {
  if (body.currency != null && (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency))) {
    throw illegalArgument(`Invalid currency ${String(body.currency)}`);
  }
  if (body.timeZone != null && (typeof body.timeZone !== 'string' || !isValidTimeZone(body.timeZone))) {
    throw illegalArgument(`The datetime zone id '${String(body.timeZone)}' is not recognised`);
  }
}

function flag(req: Request, name: string): boolean {
  return req.query[name] === 'true';
}

export function accountRoutes(ctx: StandinContext): Router {
  const router = Router();

  router.post('/1.0/kb/accounts', (req, res) => {
    const body = req.body as AccountBody | undefined;
    if (!body || typeof body !== 'object') throw illegalArgument('AccountJson body should be specified');
    const tenant = tenantOf(res);
    callContext(req);
    checkCurrencyAndZone(body);
    const accountId = randomUUID();
    const externalKey = stringOrNull(body, 'externalKey') ?? accountId;
    if (ctx.state.accountsOf(tenant.tenantId).some((a) => a.externalKey === externalKey)) {
      throw accountApiException(409, 3000, `Account already exists for key ${externalKey}`);
    }
    const referenceTime = typeof body.referenceTime === 'string' ? parseDateTime(body.referenceTime) : null;
    const account: AccountRecord = {
      tenantId: tenant.tenantId,
      accountId,
      externalKey,
      firstNameLength: typeof body.firstNameLength === 'number' ? body.firstNameLength : null,
      billCycleDayLocal: typeof body.billCycleDayLocal === 'number' ? body.billCycleDayLocal : 0,
      currency: stringOrNull(body, 'currency'),
      isPaymentDelegatedToParent: body.isPaymentDelegatedToParent === true,
      referenceTime: referenceTime ?? new Date(Math.floor(ctx.now().getTime() / 1000) * 1000),
      timeZone: stringOrNull(body, 'timeZone') ?? 'UTC',
      isMigrated: typeof body.isMigrated === 'boolean' ? body.isMigrated : null,
      name: null,
      email: null,
      parentAccountId: null,
      paymentMethodId: null,
      address1: null,
      address2: null,
      postalCode: null,
      company: null,
      city: null,
      state: null,
      country: null,
      locale: null,
      phone: null,
      notes: null,
    };
    for (const key of STRING_FIELDS) account[key] = stringOrNull(body, key);
    ctx.state.accounts.set(accountId, account);
    notify(ctx, tenant, 'ACCOUNT_CREATION', 'ACCOUNT', accountId, accountId);
    sendCreated(req, res, `/1.0/kb/accounts/${accountId}`);
  });

  router.get('/1.0/kb/accounts', (req, res) => {
    const tenant = tenantOf(res);
    const externalKey = typeof req.query.externalKey === 'string' ? req.query.externalKey : '';
    const account = ctx.state.accountsOf(tenant.tenantId).find((a) => a.externalKey === externalKey);
    if (!account) throw accountApiException(404, 3003, `Account does not exist for key ${externalKey}`);
    sendJson(
      res,
      200,
      accountJson(account, flag(req, 'accountWithBalance') || flag(req, 'accountWithBalanceAndCBA')),
    );
  });

  router.get('/1.0/kb/accounts/pagination', (req, res) => {
    const withBalance = flag(req, 'accountWithBalance');
    const withCba = flag(req, 'accountWithBalanceAndCBA');
    const audit = typeof req.query.audit === 'string' ? req.query.audit : 'NONE';
    sendPage(
      req,
      res,
      ctx.state.accountsOf(tenantOf(res).tenantId),
      '/1.0/kb/accounts/pagination',
      (a) => accountJson(a, withBalance || withCba),
      `accountWithBalance=${withBalance}&accountWithBalanceAndCBA=${withCba}&audit=${audit}`,
    );
  });

  router.get('/1.0/kb/accounts/:accountId', (req, res) => {
    const account = requireAccount(ctx, tenantOf(res), req.params.accountId);
    sendJson(
      res,
      200,
      accountJson(account, flag(req, 'accountWithBalance') || flag(req, 'accountWithBalanceAndCBA')),
    );
  });

  router.put('/1.0/kb/accounts/:accountId', (req, res) => {
    const body = req.body as AccountBody | undefined;
    if (!body || typeof body !== 'object') throw illegalArgument('AccountJson body should be specified');
    const tenant = tenantOf(res);
    callContext(req);
    const account = requireAccount(ctx, tenant, req.params.accountId);
    checkCurrencyAndZone(body);
    const resetNulls = req.query.treatNullAsReset === 'true';
    for (const key of IMMUTABLE_ONCE_SET) {
      const wanted = body[key];
      if (wanted != null && account[key] != null && wanted !== account[key]) {
        throw illegalArgument(`Killbill doesn't support updating the account ${key} yet`);
      }
    }
    if (typeof body.billCycleDayLocal === 'number' && account.billCycleDayLocal !== 0) {
      if (body.billCycleDayLocal !== account.billCycleDayLocal) {
        throw illegalArgument("Killbill doesn't support updating the account BCD yet");
      }
    }
    let changed = false;
    const assign = <K extends keyof AccountRecord>(key: K, value: AccountRecord[K]): void => {
      if (account[key] !== value) {
        account[key] = value;
        changed = true;
      }
    };
    for (const key of STRING_FIELDS) {
      const value = stringOrNull(body, key);
      if (value !== null || resetNulls) assign(key, value);
    }
    if (account.currency === null && typeof body.currency === 'string') assign('currency', body.currency);
    if (typeof body.billCycleDayLocal === 'number') assign('billCycleDayLocal', body.billCycleDayLocal);
    if (typeof body.isPaymentDelegatedToParent === 'boolean') {
      assign('isPaymentDelegatedToParent', body.isPaymentDelegatedToParent);
    }
    if (typeof body.firstNameLength === 'number') assign('firstNameLength', body.firstNameLength);
    if (changed) notify(ctx, tenant, 'ACCOUNT_CHANGE', 'ACCOUNT', account.accountId, account.accountId);
    sendNoContent(res);
  });

  return router;
}
