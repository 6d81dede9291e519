import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ROOT, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

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

/**
 * A collection with hubs for the DBNorm views: 300 random points, ten of them close to the direction the queries
 * lean to (so they are near most queries), a query bank of such queries, a sampled gallery bank, and dual_is.
 */
async function makeHubs(): Promise<void> {
  const next = rng(7);
  const centre = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0, 0];
  const hub = () => centre.map((c) => c + (next() - 0.5) * 0.2);
  const query = () => randomVector(next, 8).map((x, i) => x * 0.5 + centre[i]!);
  await call('PUT', '/collections/hubs', { vectors: { size: 8, distance: 'Cosine' } });
  await call('PUT', '/collections/hubs/points?wait=true', {
    points: Array.from({ length: 300 }, (_, i) => ({
      id: i,
      vector: i < 10 ? hub() : randomVector(next, 8),
      payload: { title: `Item ${i}`, kind: i % 2 === 0 ? 'even' : 'odd' },
    })),
  });
  await call('PUT', '/collections/hubs/banks/query?wait=true', { vectors: Array.from({ length: 60 }, query) });
  await call('PUT', '/collections/hubs/banks/gallery?wait=true', { sample: 50 });
  await call('PATCH', '/collections/hubs?wait=true', { hubness: { method: 'dual_is' } });
}

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

  it('shows the hubness setting, banks, snapshots and diagnostics, and runs a rescored search', async () => {
    await makeHubs();
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/console/`);
    await page.evaluate((key) => localStorage.setItem('strata.apiKey', key), KEY);
    await page.goto(`${server.url}/console/#/collections/hubs`);
    await page.waitForSelector('#banks td:text("gallery")');
    expect(await page.locator('#hubness-setting tr').allInnerTexts()).toContainEqual('method\tdual_is');
    const banks = await page.locator('#banks tr').allInnerTexts();
    expect(banks[1]).toMatch(/^query\t60\t1\tvectors\t[^\t]+\tin use: v1, β 20$/);
    expect(banks[2]).toMatch(/^gallery\t50\t1\tsample, requested 50, points 300\t[^\t]+\tin use: v1, β 5$/);
    // the snapshot list is fetched apart from the banks: poll until it has arrived (it lagged under load in CI)
    await expect.poll(() => page.textContent('#snapshots')).toContain('no snapshots yet');

    // a snapshot made from the console appears in the list the API gives
    await page.click('#create-snapshot');
    await expect.poll(() => page.textContent('#snapshot-status')).toMatch(/^created hubs-.*\.snapshot$/);
    const listed = (await call('GET', '/collections/hubs/snapshots')).body.result as { name: string }[];
    expect(listed).toHaveLength(1);
    // the status line is written before the list is fetched again: poll until the table shows it
    await expect.poll(() => page.locator('#snapshots td:first-child').allTextContents()).toEqual([listed[0]!.name]);

    // hubness diagnostics: one bar per non-empty bin and series, with the counts the API reports
    await page.click('#measure-hubness');
    await page.waitForSelector('#hubness-report:not([hidden]) svg.histogram');
    const report = (await call('GET', '/collections/hubs/hubness?k=10')).body.result;
    expect(report.rescored).not.toBeNull();
    expect(report.rescored.skewness).toBeLessThan(report.raw.skewness); // what the picture is there to show
    const bars = async (series: string) =>
      (await page
        .locator(`svg.histogram rect.bar.${series}`)
        .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-points'))))) as number[];
    const nonEmpty = (h: { points: number }[]) => h.map((b) => b.points).filter((n) => n > 0);
    const raw = await bars('raw');
    const rescored = await bars('rescored');
    expect(raw.length).toBeGreaterThan(1);
    expect(rescored.length).toBeGreaterThan(1);
    expect(raw).toEqual(nonEmpty(report.raw.histogram));
    expect(rescored).toEqual(nonEmpty(report.rescored.histogram));
    expect(raw.reduce((a, b) => a + b)).toBe(300);
    const figures = await page.locator('#hubness-figures tr').allInnerTexts();
    expect(figures[0]).toBe('\traw\trescored (dual_is)');
    expect(figures[1]).toBe(`skewness\t${report.raw.skewness.toFixed(2)}\t${report.rescored.skewness.toFixed(2)}`);
    const topHub = report.raw.hubs[0];
    expect(await page.locator('#hubness-hubs tr').nth(1).locator('td').allTextContents()).toEqual([
      '1',
      `${topHub.id} (${topHub.count})`,
      expect.stringMatching(/^\S+ \(\d+\)$/),
    ]);
    expect(await page.textContent('#hubness-source')).toContain('60 queries from the query bank');

    // the playground passes the chosen method as params.rescore and shows the raw score beside the rescored one
    const vector = [0.5, 0.45, 0.4, 0.35, 0.2, 0.1, 0.05, 0];
    await page.fill('#vector', JSON.stringify(vector));
    await page.fill('#filter', '{"must": [{"key": "kind", "match": {"value": "even"}}]}');
    await page.fill('#limit', '6');
    await page.selectOption('#rescore', 'is');
    await page.click('#search');
    await expect.poll(() => page.locator('#results tbody tr').count()).toBe(6);
    const expected = await call('POST', '/collections/hubs/points/search', {
      vector,
      limit: 6,
      filter: { must: [{ key: 'kind', match: { value: 'even' } }] },
      with_raw_score: true,
      params: { rescore: 'is' },
    });
    const cells = await page
      .locator('#results tbody tr')
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent)));
    expect(cells).toEqual(
      expected.body.result.map((p: { id: number; score: number; raw_score: number }) => [
        String(p.id),
        p.score.toFixed(4),
        p.raw_score.toFixed(4),
      ]),
    );
    // rescoring changed the order: the raw scores do not descend
    const rawScores = cells.map((c) => Number(c[2]));
    expect(rawScores).not.toEqual([...rawScores].sort((a, b) => b - a));
    if (process.env.STRATA_UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'docs/console.png'), fullPage: true });
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
