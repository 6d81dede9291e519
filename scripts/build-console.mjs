/** Copies the console's static files (HTML, CSS) next to its compiled script in dist/console/. */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
fs.cpSync(path.join(ROOT, 'console/public'), path.join(ROOT, 'dist/console'), { recursive: true });
