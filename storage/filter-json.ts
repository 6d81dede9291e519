/**
 * Qdrant's filter JSON as storage receives it (already shape-checked by the server's schema, which is the
 * public definition). Storage turns it into the engine's Condition AST in filter-resolve.ts.
 */
export type Many<T> = T | readonly T[];

export interface RangeJson {
  readonly gt?: number | string | null;
  readonly gte?: number | string | null;
  readonly lt?: number | string | null;
  readonly lte?: number | string | null;
}

export interface FieldConditionJson {
  readonly key: string;
  readonly match?:
    | { readonly value: string | number | boolean }
    | { readonly any: readonly (string | number)[] }
    | { readonly except: readonly (string | number)[] }
    | { readonly text: string };
  readonly range?: RangeJson;
  readonly values_count?: RangeJson;
}

export interface FilterJson {
  readonly must?: Many<ConditionJson> | null;
  readonly should?: Many<ConditionJson> | null;
  readonly must_not?: Many<ConditionJson> | null;
  readonly min_should?: { readonly conditions: readonly ConditionJson[]; readonly min_count: number } | null;
}

export type ConditionJson =
  | FieldConditionJson
  | { readonly is_empty: { readonly key: string } }
  | { readonly is_null: { readonly key: string } }
  | { readonly has_id: readonly unknown[] }
  | { readonly nested: { readonly key: string; readonly filter: FilterJson } }
  | FilterJson;
