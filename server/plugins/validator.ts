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
    return (value: unknown) => {
      const converted = httpPart === 'body' ? value : Value.Convert(schema, references, value);
      if (check.Check(converted)) return { value: converted };
      const first = check.Errors(converted).First();
      const where = first?.path ? first.path : '/';
      const message = first ? `${httpPart ?? 'request'}${where}: ${first.message}` : 'invalid request';
      const error = Object.assign(new Error(message), { validation: [{ message, instancePath: where }] });
      return { error };
    };
  };
}
