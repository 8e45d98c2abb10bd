import { hash } from 'node:crypto';
import {
  EVENT_TYPES,
  RECONCILE_ON_TENANT_KEYS,
  type EventAction,
  type EventTypeRule,
} from './event-types.js';

/** Kill Bill's push notification body (NotificationJson), with metaData parsed once. */
export interface Notification {
  eventType: string;
  accountId: string | null;
  objectType: string;
  objectId: string | null;
  metaData: Record<string, unknown> | null;
}

export type ParsedNotification =
  | {
      ok: true;
      notification: Notification;
      action: EventAction;
      /** False for a well-formed event of a type Kill Bill 0.24 does not send (a newer server's). */
      known: boolean;
    }
  | { ok: false; reason: string };

const KEYS = ['eventType', 'accountId', 'objectType', 'objectId', 'metaData'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How Kill Bill spells an ExtBusEventType; a newer server's types look the same. */
const EVENT_TYPE_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const OBJECT_TYPE_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const TENANT_KEY_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * A well-formed event of a type this bridge does not know can never become processable, and answering it
 * 4xx would have Kill Bill retry it for days; it is acknowledged and ignored instead.
 */
const UNKNOWN_EVENT: EventTypeRule = {
  objectTypes: [],
  action: 'ignore',
  accountless: true,
  nullObject: true,
};

/** Own properties only: `constructor` or `__proto__` must not find Object.prototype's. */
function ruleOf(eventType: string): EventTypeRule | undefined {
  return Object.hasOwn(EVENT_TYPES, eventType) ? EVENT_TYPES[eventType] : undefined;
}

function fail(reason: string): ParsedNotification {
  return { ok: false, reason };
}

/** Exactly the five keys of Kill Bill's NotificationJson; the reason when not. */
function keysProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const keys = Object.keys(body);
  const missing = KEYS.filter((k) => !(k in body));
  const extra = keys.filter((k) => !(KEYS as readonly string[]).includes(k));
  if (missing.length > 0) return `missing key(s): ${missing.join(', ')}`;
  if (extra.length > 0) return `unexpected key(s): ${extra.join(', ')}`;
  return undefined;
}

interface EventTypes {
  eventType: string;
  objectType: string;
  /** The event type's rule; for a type this bridge does not know, {@link UNKNOWN_EVENT}. */
  rule: EventTypeRule;
  known: boolean;
}

/** The event type with an object type it goes with; the reason when either is not Kill Bill's. */
function readTypes(eventType: unknown, objectType: unknown): EventTypes | string {
  if (typeof eventType !== 'string') return 'eventType must be a string';
  const known = ruleOf(eventType);
  if (!known && !EVENT_TYPE_NAME.test(eventType))
    return `eventType ${JSON.stringify(eventType).slice(0, 80)} is not a Kill Bill event type name`;
  const rule = known ?? UNKNOWN_EVENT;
  if (typeof objectType !== 'string') return 'objectType must be a string';
  if (known && !rule.objectTypes.includes(objectType)) {
    return `objectType of ${eventType} must be ${rule.objectTypes.join(' or ')}`;
  }
  if (!known && !OBJECT_TYPE_NAME.test(objectType))
    return `objectType ${JSON.stringify(objectType).slice(0, 80)} is not a Kill Bill object type name`;
  return { eventType, objectType, rule, known: known !== undefined };
}

/** UUIDs or null, null only where the event type allows it; the reason when not. */
function idsProblem(
  accountId: unknown,
  objectId: unknown,
  { eventType, rule }: EventTypes,
): string | undefined {
  for (const [name, value] of [
    ['accountId', accountId],
    ['objectId', objectId],
  ] as const) {
    if (value !== null && (typeof value !== 'string' || !UUID.test(value)))
      return `${name} must be a UUID or null`;
  }
  if (accountId === null && !rule.accountless) return `accountId is required for ${eventType}`;
  if (objectId === null && !rule.nullObject) return `objectId is required for ${eventType}`;
  return undefined;
}

/** metaData parsed from its JSON text (null stays null); a string is the reason it cannot be. */
function readMetaData(metaData: unknown, eventType: string): Record<string, unknown> | null | string {
  if (metaData === null) return null;
  if (typeof metaData !== 'string') return 'metaData must be null or a string holding JSON';
  try {
    const parsed: unknown = JSON.parse(metaData);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return 'metaData must hold a JSON object';
    }
    return parsed as Record<string, unknown>;
  } catch {
    // Kill Bill 0.22 sends a tenant key change's metaData as the bare key (`CATALOG`), 0.24 as JSON.
    if (!eventType.startsWith('TENANT_CONFIG_') || !TENANT_KEY_NAME.test(metaData))
      return 'metaData is not valid JSON';
    return { key: metaData };
  }
}

function actionOf({ eventType, rule }: EventTypes, meta: Record<string, unknown> | null): EventAction {
  if (
    eventType === 'TENANT_CONFIG_CHANGE' &&
    typeof meta?.key === 'string' &&
    RECONCILE_ON_TENANT_KEYS.has(meta.key)
  ) {
    return 'reconcile';
  }
  return rule.action;
}

/**
 * Checks a body against the shape Kill Bill 0.24 really sends (contract §2.3): exactly five keys, a known
 * event type with a consistent object type, UUIDs or null, metaData null or a JSON string.
 */
export function parseNotification(body: unknown): ParsedNotification {
  const wrongKeys = keysProblem(body);
  if (wrongKeys) return fail(wrongKeys);
  const { eventType, accountId, objectType, objectId, metaData } = body as Record<string, unknown>;
  const types = readTypes(eventType, objectType);
  if (typeof types === 'string') return fail(types);
  const wrongIds = idsProblem(accountId, objectId, types);
  if (wrongIds) return fail(wrongIds);
  const meta = readMetaData(metaData, types.eventType);
  if (typeof meta === 'string') return fail(meta);
  if (types.rule.subscriptionMetadata) {
    const why = subscriptionMetadataProblem(meta);
    if (why) return fail(`metaData of ${types.eventType}: ${why}`);
  }
  const notification: Notification = {
    eventType: types.eventType,
    accountId: accountId as string | null,
    objectType: types.objectType,
    objectId: objectId as string | null,
    metaData: meta,
  };
  return { ok: true, notification, action: actionOf(types, meta), known: types.known };
}

function subscriptionMetadataProblem(meta: Record<string, unknown> | null): string | undefined {
  if (meta === null) return 'must be SubscriptionMetadata, got null';
  if (meta.actionType !== 'EFFECTIVE' && meta.actionType !== 'REQUESTED') {
    return 'actionType must be EFFECTIVE or REQUESTED';
  }
  if (
    'bundleExternalKey' in meta &&
    meta.bundleExternalKey !== null &&
    typeof meta.bundleExternalKey !== 'string'
  ) {
    return 'bundleExternalKey must be a string or null';
  }
  if ('subscriptionChangeUndo' in meta && typeof meta.subscriptionChangeUndo !== 'boolean') {
    return 'subscriptionChangeUndo must be a boolean';
  }
  return undefined;
}

/**
 * The same event delivered again (Kill Bill delivers at least once and has no event id) hashes the same:
 * tenant plus the exact body.
 */
export function notificationKey(tenantApiKey: string, rawBody: string): string {
  return hash('sha256', `${tenantApiKey}\0${rawBody}`, 'hex').slice(0, 40);
}
