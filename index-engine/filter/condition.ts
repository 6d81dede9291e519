/**
 * The engine's filter AST: a tagged union built by storage from Qdrant filter JSON (keys split into paths,
 * datetimes turned into epoch milliseconds, point ids resolved to row offsets per segment).
 */
export type Scalar = string | number | boolean;

export interface RangeBounds {
  readonly gt?: number;
  readonly gte?: number;
  readonly lt?: number;
  readonly lte?: number;
}

export type Condition =
  | { readonly kind: 'and'; readonly items: readonly Condition[] }
  | { readonly kind: 'or'; readonly items: readonly Condition[] }
  | { readonly kind: 'not'; readonly item: Condition }
  | { readonly kind: 'min_should'; readonly items: readonly Condition[]; readonly min: number }
  | {
      readonly kind: 'match';
      readonly path: readonly string[];
      readonly values: readonly Scalar[];
      /** Dictionary codes of the string values, when the field has a keyword column (-2: not in the dictionary). */
      readonly keywordCodes?: readonly number[];
    }
  | { readonly kind: 'except'; readonly path: readonly string[]; readonly values: readonly Scalar[] }
  | { readonly kind: 'text'; readonly path: readonly string[]; readonly text: string }
  | {
      readonly kind: 'range';
      readonly path: readonly string[];
      readonly bounds: RangeBounds;
      readonly datetime: boolean;
    }
  | { readonly kind: 'values_count'; readonly path: readonly string[]; readonly bounds: RangeBounds }
  | { readonly kind: 'is_empty'; readonly path: readonly string[] }
  | { readonly kind: 'is_null'; readonly path: readonly string[] }
  /** Row offsets per segment uid. */
  | { readonly kind: 'has_id'; readonly rows: ReadonlyMap<number, ReadonlySet<number>> }
  | { readonly kind: 'nested'; readonly path: readonly string[]; readonly filter: Condition }
  | { readonly kind: 'const'; readonly value: boolean };
