import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ROOT, type RunningServer, startServer } from '../helpers/server.js';

/**
 * The web console in a real headless Chromium (the distribution's package; playwright-core downloads nothing).
 * `.ci/run` installs it where it can; without it the browser test is skipped and says why.
 * STRATA_UPDATE_SCREENSHOT=1 also rewrites docs/console.png, the picture in the README.
 */
const CHROMIUM = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`console.test: skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

const KEY = 'console-test-key';
let server: RunningServer;
const call = (method: string, route: string, body?: unknown) =>
  api(server.url, method, route, body, { 'api-key': KEY });

beforeAll(async () => {
  server = await startServer({ env: { STRATA_API_KEY: KEY } });
  await call('PUT', '/collections/films', { vectors: { size: 3, distance: 'Cosine' } });
  await call('PUT', '/collections/films/index', { field_name: 'genre', field_schema: 'keyword' });
  await call('PUT', '/collections/empty', { vectors: { size: 8, distance: 'Dot' } });
  const genres = ['drama', 'comedy', 'sf'];
  await call('PUT', '/collections/films/points', {
    points: Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      vector: [Math.cos(i / 5), Math.sin(i / 5), 0.2],
      payload: { title: `Film ${i + 1}`, genre: genres[i % 3], year: 1990 + i },
    })),
  });
});
afterAll(async () => {
  await server?.stop();
});

describe('the console files', () => {
  it('are served at /console/ without a key, while the API still needs one', async () => {
    const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await fetch(`${server.url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    for (const file of ['app.js', 'style.css']) expect((await fetch(`${server.url}/console/${file}`)).status).toBe(200);
    expect((await fetch(`${server.url}/console/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/collections`)).status).toBe(401);
  });
});

describe.skipIf(!hasChromium)('the console in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    // --no-sandbox: the suite may run as root (CI containers), where Chromium's sandbox refuses to start
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('saves the key, lists collections, shows one and runs searches', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/console/`);
    // no key yet: the API's 401 is shown
    await expect.poll(() => page.textContent('#error')).toContain('STRATA_ERR_UNAUTHORIZED');
    await page.fill('#api-key', KEY);
    await page.click('#key-form button');
    await page.waitForSelector('#collections a:text("films")');
    expect(await page.locator('#collections a').allTextContents()).toEqual(['empty', 'films']);
    expect(await page.isHidden('#error')).toBe(true);

    await page.click('#collections a:text("films")');
    await page.waitForSelector('#detail:not([hidden])');
    const stats = await page.textContent('#stats');
    expect(stats).toContain('points30');
    expect(stats).toContain('segments');
    expect(stats).toContain('optimizerok');
    expect(await page.textContent('#config')).toContain('Cosine');
    expect(await page.textContent('#payload-schema')).toContain('keyword');

    // a vector typed in, with a filter
    await page.fill('#vector', '[1, 0, 0.2]');
    await page.fill('#filter', '{"must": [{"key": "genre", "match": {"value": "sf"}}]}');
    await page.fill('#limit', '5');
    await page.click('#search');
    await page.waitForSelector('#results tbody tr');
    const rows = await page.locator('#results tbody tr').allInnerTexts();
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.includes('"genre":"sf"'))).toBe(true);
    const expected = await call('POST', '/collections/films/points/search', {
      vector: [1, 0, 0.2],
      limit: 5,
      filter: { must: [{ key: 'genre', match: { value: 'sf' } }] },
    });
    const ids = await page.locator('#results tbody tr td:nth-child(2)').allTextContents();
    expect(ids).toEqual(expected.body.result.map((p: { id: number }) => String(p.id)));
    expect(await page.textContent('#search-time')).toMatch(/^5 results in \d+ ms$/);
    if (process.env.STRATA_UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'docs/console.png'), fullPage: true });
    }

    // similar to a point: its own vector comes first, with score 1
    await page.check('input[name="mode"][value="point"]');
    await page.fill('#point-id', '7');
    await page.fill('#filter', '');
    await page.fill('#limit', '3');
    await page.click('#search');
    await expect.poll(() => page.locator('#results tbody tr td:nth-child(2)').allTextContents()).toHaveLength(3);
    const top = await page.locator('#results tbody tr').first().locator('td').allTextContents();
    expect(top.slice(0, 3)).toEqual(['1', '7', '1.0000']);

    // bad input is reported, not thrown
    await page.fill('#point-id', '999');
    await page.click('#search');
    await expect.poll(() => page.textContent('#error')).toContain('STRATA_ERR_POINT_NOT_FOUND');
    expect(errors).toEqual([]);
    await page.close();
  });
});
