/**
 * RFC 4180 CSV records from a stream of lines: fields separated by commas, optionally in double quotes, where a
 * quoted field may hold commas, doubled quotes ("") and line breaks. Records come out one at a time, so a file of
 * any size is read in constant memory.
 */
export async function* csvRecords(lines: AsyncIterable<string>): AsyncGenerator<string[]> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  for await (const line of lines) {
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch !== '"') field += ch;
        else if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        fields.push(field);
        field = '';
      } else field += ch;
    }
    if (quoted) {
      field += '\n'; // the quoted field continues on the next line
      continue;
    }
    fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
    if (!(fields.length === 1 && fields[0] === '')) yield fields; // blank lines are skipped
    fields = [];
    field = '';
  }
  if (quoted) throw new Error('the file ends inside a quoted field');
}
