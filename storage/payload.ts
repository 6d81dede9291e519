import type { WithPayload } from './types.js';

/** Largest payload of one point, as UTF-8 JSON bytes (documented in the README's limits). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Payload values as stored: JSON only. Integers too large for a double arrive as bigint from the body
 * parser; payload numbers are doubles (exact up to 2^53), so they become numbers here.
 */
export function normalizePayload(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(normalizePayload);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizePayload(v);
    return out;
  }
  return value;
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
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) if (wanted.has(k) === keep) out[k] = v;
  return out;
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
    for (const part of parts.slice(0, -1)) {
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
    }
    if (node !== null && typeof node === 'object') delete (node as Record<string, unknown>)[parts.at(-1)!];
  }
  return out;
}
