// How docs/img/jupyterlab-pyspark-livy.png was taken (headless Chromium, playwright-core; no
// browser download: Debian's /usr/bin/chromium).
//
//   apt-get install -y chromium; npm install playwright-core   (in a scratch dir; NODE_PATH to it)
//   1. a Livy (livy/livyctl.py up with its own LIVY_PORT/LIVY_RUN_DIR/LAKEHOUSE_DIR), silver for
//      2026-02-28..2026-03-01 through it (spark_scripts/generate_silver.py, 3000 page views/day)
//   2. papermill notebooks/daily_customer_analytics.ipynb <scratch>/daily_customer_analytics.ipynb
//        -k pyspark-livy -p run_date 2026-03-01          (with `livyctl env` exported)
//   3. jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=PORT --ServerApp.root_dir=<scratch>
//        --IdentityProvider.token=                        (same env: its kernel is a Livy batch too)
//   4. node docs/img/jupyterlab-screenshot.js PORT [out.png]
//   then stop JupyterLab (SIGTERM: it deletes the kernel's batch) and `livyctl down`.
//
// Opens the executed notebook, waits until the status bar says "PySpark on Livy | Idle" (the
// kernel's batch is up), scrolls the segment chart into view and takes a 1440x1000 screenshot.
const { chromium } = require('playwright-core');
const fs = require('fs');
(async () => {
  const port = process.argv[2], out = process.argv[3] || 'docs/img/jupyterlab-pyspark-livy.png';
  const udd = fs.mkdtempSync(require('path').join(require('os').tmpdir(), 'lab-shot-chromium-'));
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  await page.goto(`http://127.0.0.1:${port}/lab/tree/daily_customer_analytics.ipynb`);
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 120000 });
  // Wait for the kernel (a Livy batch) to be up: the status bar says "PySpark on Livy | Idle".
  const t0 = Date.now();
  for (;;) {
    const txt = await page.locator('.jp-StatusBar-Widget').allInnerTexts().catch(() => []);
    const s = txt.join(' ');
    if (/PySpark on Livy\s*\|\s*Idle/.test(s)) { console.log('status:', s.replace(/\s+/g, ' ')); break; }
    if (Date.now() - t0 > 240000) { console.log('timeout waiting for idle kernel; status:', s); break; }
    await page.waitForTimeout(2000);
  }
  // Collapse the left sidebar so the notebook gets the width.
  const fb = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current');
  if (await fb.count()) await fb.first().click();
  await page.waitForTimeout(1000);
  // Scroll the segments chart to the bottom of the view: its code cell above it.
  await page.evaluate(() => {
    const img = document.querySelector('.jp-Notebook .jp-OutputArea-output img');
    img.closest('.jp-Cell').scrollIntoView({ block: 'end' });
  });
  await page.waitForTimeout(1500);
  await page.locator('.jp-Notebook .jp-OutputArea-output img').first().waitFor({ timeout: 30000 });
  await page.mouse.move(5, 995);
  await page.screenshot({ path: out });
  console.log('kernel toolbar:', await page.locator('.jp-KernelName, .jp-Toolbar-kernelName').allInnerTexts());
  await ctx.close();
  fs.rmSync(udd, { recursive: true, force: true });
})().catch(e => { console.error(e); process.exit(1); });
