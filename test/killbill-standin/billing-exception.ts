/**
 * Errors as Kill Bill's JAX-RS exception mappers render them (`BillingExceptionJson`): the Java class
 * name, the `ErrorCode` number (null for non-Kill Bill exceptions) and the formatted message.
 */
export class BillingException extends Error {
  constructor(
    readonly status: number,
    readonly className: string | null,
    readonly code: number | null,
    message: string,
    /** Some paths answer with a bare status (e.g. `Response.status(400).build()`). */
    readonly emptyBody = false,
  ) {
    super(message);
    this.name = 'BillingException';
  }

  toJson(): Record<string, unknown> {
    return {
      className: this.className,
      code: this.code,
      message: this.message,
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    };
  }
}

export type KillBillObjectType =
  'ACCOUNT' | 'BUNDLE' | 'SUBSCRIPTION' | 'CUSTOM_FIELD' | 'TENANT' | 'INVOICE';

export function illegalArgument(message: string): BillingException {
  return new BillingException(400, 'java.lang.IllegalArgumentException', null, message);
}

/** Unknown ids and ids of another tenant are rejected alike, before any resource code runs. */
export function objectDoesNotExist(id: string, type: KillBillObjectType): BillingException {
  return new BillingException(
    404,
    'org.killbill.billing.util.callcontext.InternalCallContextFactory$ObjectDoesNotExist',
    null,
    `Object id=${id} type=${type} doesn't exist!`,
  );
}

export function bareStatus(status: number): BillingException {
  return new BillingException(status, null, null, '', true);
}

export function accountApiException(status: number, code: number, message: string): BillingException {
  return new BillingException(status, 'org.killbill.billing.account.api.AccountApiException', code, message);
}

export function catalogApiException(code: number, message: string): BillingException {
  return new BillingException(400, 'org.killbill.billing.catalog.api.CatalogApiException', code, message);
}

export function entitlementApiException(status: number, code: number, message: string): BillingException {
  return new BillingException(
    status,
    'org.killbill.billing.entitlement.api.EntitlementApiException',
    code,
    message,
  );
}

export function subscriptionApiException(code: number, message: string): BillingException {
  return new BillingException(
    400,
    'org.killbill.billing.subscription.api.user.SubscriptionBaseApiException',
    code,
    message,
  );
}

export function customFieldApiException(code: number, message: string): BillingException {
  return new BillingException(400, 'org.killbill.billing.util.api.CustomFieldApiException', code, message);
}

export function tenantApiException(status: number, code: number, message: string): BillingException {
  return new BillingException(status, 'org.killbill.billing.tenant.api.TenantApiException', code, message);
}

export function usageApiException(code: number, message: string): BillingException {
  return new BillingException(400, 'org.killbill.billing.usage.api.UsageApiException', code, message);
}
