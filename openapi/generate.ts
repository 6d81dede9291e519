/**
 * Writes openapi/openapi.json from the route schemas (the same TypeBox objects that validate requests).
 * Generated file: do not edit it by hand; run `npm run openapi`. A test fails when it is stale.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../server/app.js';

export async function generateOpenApi(): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-openapi-'));
  const app = await buildApp({ dataDir, workers: 1, maxBodyMb: 32 });
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const target = new URL('../../openapi/openapi.json', import.meta.url);
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  fs.writeFileSync(target, await generateOpenApi());
  process.stdout.write(`wrote ${target.pathname}\n`);
}
