// `npm run package`: builds the production bundles and writes a platform-specific VSIX
// (default linux-x64) carrying only that platform's onnxruntime-node binaries and no weights.
//   node out/package.js [--target linux-x64] [--out FILE] [--no-build]
// Prints the VSIX path, its size and entry count, and a JSON line with the same. The archive
// is an OPC zip: extension.vsixmanifest + [Content_Types].xml + extension/<files> (see vsix/).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectFiles, TARGETS } from './vsix/files';
import { contentTypes, ExtensionManifest, vsixManifest } from './vsix/manifest';
import { writeZip, ZipInput } from './vsix/zip';

export interface PackResult {
  file: string;
  bytes: number;
  entries: number;
  target: string;
}

/** Write the VSIX for `target` from the extension folder `root` (already built). */
export function packVsix(root: string, target: string, out: string): PackResult {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as ExtensionManifest;
  const files = collectFiles(root, target);
  const rels = files.map((f) => f.rel);
  const inputs: ZipInput[] = files.map((f) => ({
    name: `extension/${f.rel}`,
    data: fs.readFileSync(f.abs),
    mode: (fs.statSync(f.abs).mode & 0o111) !== 0 ? 0o755 : 0o644,
  }));
  const manifest = { name: 'extension.vsixmanifest', data: Buffer.from(vsixManifest(pkg, target, rels)) };
  const names = [manifest.name, ...inputs.map((i) => i.name)];
  const types = { name: '[Content_Types].xml', data: Buffer.from(contentTypes(names)) };
  const zip = writeZip([types, manifest, ...inputs]);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, zip);
  fs.renameSync(tmp, out);
  return { file: out, bytes: zip.length, entries: inputs.length + 2, target };
}

function main(argv: string[]): void {
  // out/package.js (esbuild) or out/scripts/package.js (tsc): the root is where esbuild.mjs is.
  let root = __dirname;
  while (!fs.existsSync(path.join(root, 'esbuild.mjs')) && path.dirname(root) !== root) root = path.dirname(root);
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const target = arg('--target') ?? 'linux-x64';
  if (!TARGETS[target]) {
    console.error(`unknown --target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
    process.exit(2);
  }
  if (!argv.includes('--no-build')) {
    const r = spawnSync(process.execPath, [path.join(root, 'esbuild.mjs'), '--production'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      console.error('esbuild failed');
      process.exit(1);
    }
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as ExtensionManifest;
  const out = path.resolve(arg('--out') ?? path.join(root, `${pkg.name}-${target}-${pkg.version}.vsix`));
  const r = packVsix(root, target, out);
  console.log(
    `${path.relative(process.cwd(), r.file) || r.file}: ${(r.bytes / 2 ** 20).toFixed(1)} MB, ${r.entries} entries, target ${target}`,
  );
  console.log(JSON.stringify(r));
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`package: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
