import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Validates requests with the TypeBox schemas themselves (the same objects that produce the OpenAPI document),
 * compiled once per route. Query strings and path parameters are converted first ("true" → true); bodies are
 * checked as sent. Only the first problem is reported, so a 10,000-point batch gives a short message.
 */
export function typeboxValidatorCompiler(references: TSchema[]): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart }) => {
    const check = TypeCompiler.Compile(schema, references);
    const integers = integerProperties(schema);
    // Bodies are checked as sent; so are path parameters that are all strings (the collection name): path
    // parameters are always texts, and converting a text to a string leaves it as it is.
    const convert = httpPart !== 'body' && !(httpPart === 'params' && onlyStringProperties(schema));
    return (value: unknown) => {
      const converted = convert ? strictConvert(schema, references, value, integers) : value;
      if (check.Check(converted)) return { value: converted };
      const first = check.Errors(converted).First();
      const where = first?.path ? first.path : '/';
      const message = first ? `${httpPart ?? 'request'}${where}: ${first.message}` : 'invalid request';
      const error = Object.assign(new Error(message), { validation: [{ message, instancePath: where }] });
      return { error };
    };
  };
}

/** Whether the schema is an object whose properties are all plain strings. */
function onlyStringProperties(schema: TSchema): boolean {
  if (schema.type !== 'object' || schema.properties === undefined) return false;
  return Object.values(schema.properties as Record<string, TSchema>).every(
    (p) => p.type === 'string' && p.anyOf === undefined,
  );
}

/** Names of the top-level integer properties of a query or params schema. */
function integerProperties(schema: TSchema): string[] {
  const properties = (schema.properties ?? {}) as Record<string, TSchema>;
  return Object.keys(properties).filter((k) => properties[k]!.type === 'integer');
}

/**
 * Value.Convert, except that an integer parameter must be written as one: TypeBox would truncate `2.9` or
 * `1e400` to an integer, so such a text is kept as is and fails validation.
 */
function strictConvert(schema: TSchema, references: TSchema[], value: unknown, integers: readonly string[]): unknown {
  if (integers.length === 0 || value === null || typeof value !== 'object') {
    return Value.Convert(schema, references, value);
  }
  const raw = { ...(value as Record<string, unknown>) };
  const converted = Value.Convert(schema, references, value);
  const out = converted as Record<string, unknown>;
  for (const key of integers) {
    if (typeof raw[key] === 'string' && !/^[+-]?\d+$/.test(raw[key] as string)) out[key] = raw[key];
  }
  return out;
}
