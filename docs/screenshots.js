// Screenshots of the Dagster UI for the README (driven by docs/screenshots.py, `make screenshots`).
//
//   node docs/screenshots.js <base url> <out dir> <gold partition date> <run id>
//
// Headless Debian Chromium (/usr/bin/chromium, or CHROMIUM) through playwright-core: no browser
// download. Each page waits for a text that only appears once its data has loaded, then a
// moment for the graph/layout to settle, and is captured at 1440x900.
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [base, outDir, date, runId] = process.argv.slice(2);
const shots = [
  { file: 'dagster-asset-graph.png', url: '/asset-groups', waitFor: 'daily_sales_summary' },
  { file: 'dagster-gold-partition.png',
    url: `/assets/gold/daily_sales_summary?view=partitions&partition=${date}`, waitFor: 'livy_batch_name' },
  { file: 'dagster-check-result.png',
    url: '/assets/gold/daily_sales_summary?view=checks&checkDetail=revenue_matches_silver', waitFor: 'revenue_matches_silver' },
  { file: 'dagster-run-log.png', url: `/runs/${runId}`, waitFor: 'STEP_SUCCESS|Step success|succeeded', log: true },
];

(async () => {
  const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'dagster-shot-chromium-'));
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1,
  });
  let failed = 0;
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    for (const shot of shots) {
      const out = path.join(outDir, shot.file);
      try {
        await page.goto(base + shot.url, { waitUntil: 'load' });
        await page.getByText(new RegExp(shot.waitFor)).first().waitFor({ timeout: 60000 });
        if (shot.log) {
          // The run's log: show the steps' Livy lines (submitted, state changes, GOLD summary).
          const filter = page.getByPlaceholder(/Filter/).first();
          if (await filter.count()) { await filter.fill('livy'); await page.keyboard.press('Enter'); }
        }
        await page.waitForTimeout(4000);
        await page.screenshot({ path: out });
        console.log(`wrote ${out} (${base}${shot.url})`);
      } catch (err) {
        failed += 1;
        await page.screenshot({ path: out + '.failed.png' }).catch(() => {});
        console.error(`FAILED ${shot.file} at ${base}${shot.url}: ${err.message.split('\n')[0]} (page as seen: ${out}.failed.png)`);
      }
    }
  } finally {
    await ctx.close();
    fs.rmSync(udd, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
