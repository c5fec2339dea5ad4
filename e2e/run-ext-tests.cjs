// Mode A driver: opens the workbench of a code-server started with the smoke-test driver, with a
// payload naming the extension under development (the repo root) and the Mocha entry point
// (e2e/ext-tests/index.cjs), then waits for the extension host to report its exit code through
// window.codeAutomationExit. Extension-host console output is echoed with an [exthost] prefix.
// Usage: node run-ext-tests.cjs <base-url> <workspace> <extensionDevelopmentPath> <extensionTestsPath> <screenshot.png>
// Exit status: 0 when the extension host exited with 0.
const path = require('node:path');
// playwright-core from the pinned harness (e2e/host), not the root package.
const { chromium } = require(path.join(process.env.PODLENS_E2E_MODULES || '', 'playwright-core'));

const [, , base, folder, devPath, testsPath, shot] = process.argv;
const remote = (p) => `vscode-remote://${new URL(base).host}${p}`;
const payload = [
  ['extensionDevelopmentPath', remote(devPath)],
  ['extensionTestsPath', remote(testsPath)],
  ['skipWelcome', 'true'],
];
const url = `${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  let done;
  const exited = new Promise((r) => (done = r));
  await page.exposeFunction('codeAutomationLog', (_type, args) => {
    const parts = (args || []).map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));
    // Mocha's spec reporter uses printf-style format strings.
    let line = parts.shift() || '';
    line = line.replace(/%[sdi]/g, () => (parts.length ? parts.shift() : ''));
    console.log('[exthost]', [line, ...parts].join(' '));
  });
  await page.exposeFunction('codeAutomationExit', (code) => done(code));
  const timer = setTimeout(() => done('timeout'), Number(process.env.PODLENS_E2E_EXT_TIMEOUT_MS || 300000));
  await page.goto(url);
  const code = await exited;
  clearTimeout(timer);
  if (shot) await page.screenshot({ path: shot }).catch(() => undefined);
  await browser.close();
  console.log(`extension host exit: ${code}`);
  process.exit(code === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
