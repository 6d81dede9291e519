import type { FilterJson } from './filter-json.js';

/** Keys whose values are structure (kept in a template); every other scalar is a literal (replaced by "?"). */
const STRUCTURAL = new Set(['key', 'min_count']);
/** Keys holding lists of conditions: their order does not change the filter, so a template sorts them. */
const CONDITION_LISTS = new Set(['must', 'should', 'must_not', 'conditions']);

/**
 * A filter's template: its JSON with every literal replaced by "?", object keys sorted and condition lists in a
 * canonical order, so `category = 3 AND price < 10` and `price < 7 AND category = 5` share one template.
 * Lists of literals keep their length (`match.any` of two values and of three are different templates).
 * `null` for a search without a filter.
 */
export function filterTemplate(filter: FilterJson | null | undefined): string | null {
  if (filter === null || filter === undefined) return null;
  return JSON.stringify(shape(filter, null));
}

function shape(value: unknown, key: string | null): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => shape(v, null));
    if (key === null || !CONDITION_LISTS.has(key)) return items;
    // ordered by their JSON, without parsing it back
    const keyed = items.map((item) => ({ item, text: JSON.stringify(item) }));
    return keyed.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0)).map((k) => k.item);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined || v === null) continue;
      // a single condition where a list is allowed is the same filter as a list of one
      out[k] = CONDITION_LISTS.has(k) && !Array.isArray(v) ? shape([v], k) : shape(v, k);
    }
    return out;
  }
  return key !== null && STRUCTURAL.has(key) ? value : '?';
}
