// Mode A entry point (extensionTestsPath): runs the Mocha suite in this folder inside the real
// VS Code extension host (code-server), then writes {passed, failed, failures} to
// $PODLENS_E2E_RESULT for e2e/run.sh. PODLENS_E2E_SUITE picks the files: *.test.cjs by default,
// *.vsix.cjs for the installed-VSIX run (Mode C), *.bench.cjs for e2e/run.sh --bench-lag. Mocha comes from the pinned harness (e2e/host), whose
// node_modules folder the server passes down as $PODLENS_E2E_MODULES (the root package stays
// free of it). Plain CommonJS: loaded as is by the extension host, no build step.
const fs = require('node:fs');
const path = require('node:path');

exports.run = function run() {
  const Mocha = require(path.join(process.env.PODLENS_E2E_MODULES || '', 'mocha'));
  const mocha = new Mocha({ ui: 'tdd', timeout: 600000, color: false, reporter: 'spec' });
  const suffix = `.${process.env.PODLENS_E2E_SUITE || 'test'}.cjs`;
  for (const f of fs
    .readdirSync(__dirname)
    .filter((n) => n.endsWith(suffix))
    .sort())
    mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const failures = [];
    let passed = 0;
    const runner = mocha.run((failed) => {
      const out = process.env.PODLENS_E2E_RESULT;
      if (out) fs.writeFileSync(out, JSON.stringify({ passed, failed, failures }, null, 2));
      console.log(`ext-host suite: ${passed} passed, ${failed} failed`);
      if (failed > 0) reject(new Error(`${failed} extension-host tests failed`));
      else resolve();
    });
    runner.on('pass', () => {
      passed++;
    });
    runner.on('fail', (t, err) => {
      failures.push(`${t.fullTitle()}: ${err && err.message}`);
    });
  });
};
