import { StrataError } from './errors.js';
import type { WithPayload } from './types.js';

/** Largest payload of one point, as UTF-8 JSON bytes (documented in the README's limits). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Deepest payload: levels of objects and arrays, the payload object itself being level 1 (README limits). */
export const MAX_PAYLOAD_DEPTH = 64;

class TooDeep extends Error {}

/**
 * Payload values as stored: JSON only. Integers too large for a double arrive as bigint from the body
 * parser; payload numbers are doubles (exact up to 2^53), so they become numbers here. Keys are copied as own
 * properties (`Object.fromEntries`), so a `__proto__` key is kept as data instead of replacing the prototype.
 */
function normalize(value: unknown, depth: number): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_PAYLOAD_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) return value.map((v) => normalize(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, depth + 1)]));
}

/**
 * The stored form of a point's payload: normalized JSON text, checked against the depth and size limits
 * (STRATA_ERR_PAYLOAD_TOO_DEEP, STRATA_ERR_PAYLOAD_TOO_LARGE). `label` names the point in the error.
 */
export function encodePayload(label: string, payload: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(normalize(payload, 1));
  } catch (e) {
    if (e instanceof TooDeep) throw new StrataError('STRATA_ERR_PAYLOAD_TOO_DEEP', [label, MAX_PAYLOAD_DEPTH]);
    throw e;
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_PAYLOAD_BYTES)
    throw new StrataError('STRATA_ERR_PAYLOAD_TOO_LARGE', [label, bytes, MAX_PAYLOAD_BYTES]);
  return json;
}

/** Applies `with_payload` to a stored payload; undefined means "leave the field out". */
export function selectPayload(
  payload: Record<string, unknown>,
  withPayload: WithPayload | null | undefined,
): Record<string, unknown> | undefined {
  if (withPayload === undefined || withPayload === null || withPayload === false) return undefined;
  if (withPayload === true) return payload;
  if (Array.isArray(withPayload)) return pick(payload, withPayload as readonly string[], true);
  if ('include' in withPayload) return pick(payload, withPayload.include, true);
  return pick(payload, (withPayload as { exclude: readonly string[] }).exclude, false);
}

function pick(payload: Record<string, unknown>, keys: readonly string[], keep: boolean): Record<string, unknown> {
  const wanted = new Set(keys);
  return Object.fromEntries(Object.entries(payload).filter(([k]) => wanted.has(k) === keep));
}

/** Removes keys, dotted paths included (`a.b` deletes `b` inside object `a`). */
export function deletePayloadKeys(payload: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out = structuredClone(payload);
  for (const key of keys) {
    if (Object.hasOwn(out, key)) {
      delete out[key];
      continue;
    }
    const parts = key.split('.');
    let node: unknown = out;
    // own properties only: `__proto__.x` must never reach Object.prototype
    for (const part of parts.slice(0, -1)) {
      node = isObject(node) && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined;
    }
    if (isObject(node)) delete (node as Record<string, unknown>)[parts.at(-1)!];
  }
  return out;
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}
