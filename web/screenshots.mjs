// The screenshots in docs/ (scripts/screenshots.sh drives this): the static report of a 144-head model
// and attend serve's app, in Debian chromium through playwright-core. Loopback and file:// only.
// usage: node screenshots.mjs REPORT.html APP_URL OUT_DIR
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [report, app, out] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const problems = [];
const page = await browser.newPage({ viewport: { width: 1500, height: 1000 }, deviceScaleFactor: 1 });
page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
page.on('pageerror', (e) => problems.push(e.message));
page.on('request', (r) => { const u = r.url(); if (!/^(file:|data:|blob:|http:\/\/127\.0\.0\.1:)/.test(u)) problems.push('request to ' + u); });
const shot = async (sel, name) => { await (await page.$(sel)).screenshot({ path: out + '/' + name }); console.log('wrote ' + out + '/' + name); };

// The static report at 144 heads: the overview, one head (labelled axes, colour bar, a pinned token),
// and the per-head plots with the filter narrowed to two layers.
await page.goto(pathToFileURL(resolve(report)).href);
await page.waitForSelector('body[data-ready="1"]');
await page.click('#overview td[data-layer="5"][data-head="3"]');
await page.click('#tokens span:nth-child(15)');
await shot('#overviewsec', 'report_144_overview.png');
await shot('#headsec', 'report_144_head.png');
await page.fill('#headfilter', 'L10-11');
await shot('#plots1', 'report_144_plots_filtered.png');
await page.fill('#headfilter', '');
await shot('#plots3', 'report_144_headmap.png');

// The app: a prompt, an ablated head (clicked in the overview), a second prompt to compare.
await page.goto(app);
await page.fill('#prompt', 'abcdefghijabcdefghij');
await page.click('#run');
await page.waitForSelector('body[data-rendered="1"]:not([data-busy])', { timeout: 60000 });
await page.selectOption('#clickmode', 'ablate');
await page.click('#overview td[data-layer="1"][data-head="4"]');
await page.waitForSelector('body[data-rendered="2"]:not([data-busy])', { timeout: 60000 });
await page.evaluate(() => window.scrollTo(0, 0));
await page.screenshot({ path: out + '/serve_app.png' });
console.log('wrote ' + out + '/serve_app.png');
await shot('#overviewsec', 'serve_ablated_overview.png');
await page.selectOption('#clickmode', 'show');
await page.fill('#corrupt', 'abcdefghijklmnoabcde');  // the task's vocabulary: a … o
await page.click('#run');
await page.waitForSelector('body[data-requests="3"]', { timeout: 120000 });
if (await page.textContent('#apperror')) throw new Error('the app reports: ' + await page.textContent('#apperror'));
await shot('#cmpsec', 'serve_compare.png');
await browser.close();
if (problems.length) { console.error('problems:\n' + problems.join('\n')); process.exit(1); }
