import type { FastifyReply } from 'fastify';

/** Qdrant's success envelope; `time` is seconds spent on the request. */
export function ok<T>(reply: FastifyReply, result: T): { result: T; status: 'ok'; time: number } {
  return { result, status: 'ok', time: reply.elapsedTime / 1000 };
}

/** The envelope plus Strata's `explain` (the plan of every segment) when the request asked for it. */
export function okExplained<T>(reply: FastifyReply, result: T, explain: unknown, wanted: boolean) {
  return wanted ? { ...ok(reply, result), explain } : ok(reply, result);
}

/** Writes are applied before the answer, so every update is reported as completed. */
export function completed(reply: FastifyReply) {
  return ok(reply, { operation_id: 0, status: 'completed' as const });
}
