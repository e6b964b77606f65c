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
  { file: 'dagster-asset-graph.png', url: '/asset-groups', waitFor: 'notebook_prototypes', prepare: expandGroups },
  { file: 'dagster-job-runs.png', url: '/locations/lakehouse/jobs/silver_to_gold_processing/runs',
    waitFor: 'Success|Succeeded' },
  { file: 'dagster-gold-partition.png',
    url: `/assets/gold/daily_sales_summary?view=partitions&partition=${date}`, waitFor: 'livy_batch_name' },
  { file: 'dagster-check-result.png',
    url: '/assets/gold/daily_sales_summary?view=checks&checkDetail=revenue_matches_silver', waitFor: 'revenue_matches_silver' },
  { file: 'dagster-run-log.png', url: `/runs/${runId}`, waitFor: 'gold_tables', prepare: stepLog },
];

// A fresh browser profile gets Dagster's one-time "Join the Dagster community" dialog: skip it.
async function dismissWelcome(page) {
  const skip = page.getByRole('button', { name: 'Skip' });
  for (let i = 0; i < 3; i++) {
    if (await skip.isVisible().catch(() => false)) { await skip.click(); return; }
    await page.waitForTimeout(1000);
  }
}

// The global lineage opens with the groups collapsed: open silver and gold (their names on the
// graph, right of the sidebar), hide the sidebar, zoom out one step so all of it fits.
async function expandGroups(page) {
  for (const group of ['silver', 'gold']) {
    const names = page.getByText(group, { exact: true });
    for (let i = 0; i < await names.count(); i++) {
      const box = await names.nth(i).boundingBox();
      if (box && box.x > 560) { await names.nth(i).click(); await page.waitForTimeout(2500); break; }
    }
  }
  // The expanded groups are remembered: a reload lays the graph out again and fits it to the view.
  await page.reload({ waitUntil: 'load' });
  await page.getByText('daily_sales_summary').first().waitFor({ timeout: 60000 });
  await dismissWelcome(page);
  const toggles = page.locator('button:has([aria-label="panel_show_right"])');
  if (await toggles.count() > 1) await toggles.nth(1).click();  // the asset tree, not the app's navigation
  await page.waitForTimeout(2000);
}

// A run's log from its first lines, for one step: submitted, state changes, progress, results.
async function stepLog(page) {
  const filter = page.getByPlaceholder(/Filter/).first();
  await filter.fill('step:gold_tables');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(2000);
  // The log follows its newest line while rows load: scroll to the top until it stays there.
  for (let i = 0; i < 4; i++) {
    await page.evaluate(() => document.querySelectorAll('*').forEach(el => {
      if (el.scrollHeight > el.clientHeight + 50 && getComputedStyle(el).overflowY.match(/auto|scroll/)) el.scrollTop = 0;
    }));
    await page.waitForTimeout(1000);
  }
}

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
        await dismissWelcome(page);
        if (shot.prepare) await shot.prepare(page);
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
