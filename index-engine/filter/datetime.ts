/** Epoch milliseconds of an RFC 3339 string, or NaN. A plain date counts as midnight UTC, a time without zone as UTC. */
export function parseDatetime(value: string): number {
  if (!/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/.test(value)) return Number.NaN;
  const hasZone = /([Zz]|[+-]\d{2}:?\d{2})$/.test(value) && value.length > 10;
  const iso = value.replace(' ', 'T');
  return Date.parse(hasZone || value.length === 10 ? iso : `${iso}Z`);
}
