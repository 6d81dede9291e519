/**
 * Payload indexes of every hybrid-workload column, for bench:hqi and the HQI tests. The partition tree's columns
 * are the collection's payload indexes, so the unseen-only ones (brand, rating, in_stock) are indexed too: unseen
 * predicates must be answerable.
 */
export const HYBRID_INDEXES: readonly [string, string][] = [
  ['category', 'integer'],
  ['price', 'float'],
  ['ts', 'integer'],
  ['year', 'integer'],
  ['tags', 'keyword'],
  ['brand', 'keyword'],
  ['rating', 'float'],
  ['in_stock', 'bool'],
];
