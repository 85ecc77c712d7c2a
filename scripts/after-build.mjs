// The bin must be executable after `tsc` (npm ci runs this through `prepare`).
import { chmodSync, copyFileSync, existsSync } from 'node:fs';

const bin = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);

// Plain-JavaScript worker modules tsc does not emit (a Worker cannot load .ts): copied next to the
// compiled modules that start them.
for (const file of ['connectors/xlsx/sheet-parse-worker.mjs']) {
  copyFileSync(new URL(`../${file}`, import.meta.url), new URL(`../dist/${file}`, import.meta.url));
}
