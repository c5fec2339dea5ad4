// GGUF discovery (src/host/models/model-discovery.ts, model-locations.ts) against fake trees in a tmp
// dir: LM Studio's publisher/repo layout, the Hugging Face hub cache with snapshot symlinks into
// blobs/, an Ollama manifest + blob, a corrupt and a truncated .gguf, an unsupported architecture,
// .partial downloads, symlink loops, and the entry limit. stories260K is the real, supported GGUF.
// The header checks run in the reader worker thread (src/host/workspace/reader-client.ts) with the same
// verdicts and notes as checkGGUF on this thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { checkGGUF, discoverModels } from '../src/host/models/model-discovery';
import { sharedReader } from '../src/host/workspace/reader-client';
import { modelRoots } from '../src/host/models/model-locations';
import { writeGGUF } from '../src/engine/gguf/writer';
import { GGUFValueType } from '../src/engine/gguf/types';
import { modelPath } from './helpers';

let home: string;
let stories: Buffer;
const put = (p: string, data: Buffer | string): string => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
};

before(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-discovery-'));
  stories = fs.readFileSync(modelPath('stories260K-f32.gguf'));
  // LM Studio: publisher/repo/file.gguf, a download in progress, a symlink loop and a link cycle.
  const lms = path.join(home, '.lmstudio', 'models');
  put(path.join(lms, 'karpathy', 'stories', 'stories260K.gguf'), stories);
  put(path.join(lms, 'karpathy', 'stories', 'next.gguf.partial'), stories.subarray(0, 1000));
  fs.symlinkSync('.', path.join(lms, 'karpathy', 'loop'));
  fs.symlinkSync(path.join(lms, 'cycle-b'), path.join(lms, 'cycle-a'));
  fs.symlinkSync(path.join(lms, 'cycle-a'), path.join(lms, 'cycle-b'));
  // llama.cpp cache: a corrupt file, a truncated one, a non-llama architecture.
  const llama = path.join(home, '.cache', 'llama.cpp');
  put(path.join(llama, 'corrupt.gguf'), 'this is not a model at all');
  put(path.join(llama, 'truncated.gguf'), stories.subarray(0, 4096));
  fs.mkdirSync(llama, { recursive: true });
  writeGGUF(path.join(llama, 'gemma.gguf'), {
    metadata: [{ key: 'general.architecture', type: GGUFValueType.STRING, value: 'gemma3' }],
    tensors: [],
  });
  // Hugging Face hub cache: two revisions' snapshot links to one blob (listed once), a .partial blob.
  const repo = path.join(home, '.cache', 'huggingface', 'hub', 'models--karpathy--tiny-GGUF');
  const hex = createHash('sha256').update(stories).digest('hex');
  put(path.join(repo, 'blobs', hex), stories);
  put(path.join(repo, 'blobs', `${hex}.incomplete`), stories.subarray(0, 10));
  for (const rev of ['aaaa', 'bbbb']) {
    fs.mkdirSync(path.join(repo, 'snapshots', rev, 'q'), { recursive: true });
    fs.symlinkSync(path.join('..', '..', '..', 'blobs', hex), path.join(repo, 'snapshots', rev, 'q', 'tiny.gguf'));
  }
  // Ollama: a manifest pointing at a blob (the blob is a GGUF without extension), one whose blob is
  // missing, one whose blob is shorter than the manifest says, and a manifest that is not JSON.
  const ol = path.join(home, '.ollama', 'models');
  const blob = (h: string): string => path.join(ol, 'blobs', `sha256-${h}`);
  put(blob(hex), stories);
  const manifest = (h: string, size: number): string =>
    JSON.stringify({
      schemaVersion: 2,
      layers: [
        { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${'1'.repeat(64)}`, size: 10 },
        { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${h}`, size },
      ],
    });
  const mdir = path.join(ol, 'manifests', 'registry.ollama.ai', 'library');
  put(path.join(mdir, 'tiny', 'latest'), manifest(hex, stories.length));
  put(path.join(mdir, 'gone', 'latest'), manifest('2'.repeat(64), 5));
  put(blob('3'.repeat(64)), stories.subarray(0, 500));
  put(path.join(mdir, 'half', '7b'), manifest('3'.repeat(64), stories.length));
  put(path.join(mdir, 'junk', 'latest'), '{not json');
  put(blob('5'.repeat(64)), stories);
  put(path.join(ol, 'manifests', 'hf.co', 'someone', 'model', 'Q4'), manifest('5'.repeat(64), stories.length));
  put(path.join(mdir, 'tiny', 'alias'), manifest(hex, stories.length)); // same blob as tiny:latest: listed once
  put(path.join(ol, 'blobs', `sha256-${'4'.repeat(64)}-partial`), stories);
});
after(() => fs.rmSync(home, { recursive: true, force: true }));

const discover = (extra: Parameters<typeof discoverModels>[0] = {}): ReturnType<typeof discoverModels> =>
  discoverModels({ home, env: {}, platform: 'linux', ...extra });

test('finds LM Studio, llama.cpp, Hugging Face and Ollama models with names, sizes and header checks', async () => {
  const { models, truncated } = await discover();
  const byName = new Map(models.map((m) => [m.name, m]));
  const lms = byName.get('karpathy/stories/stories260K.gguf');
  assert.ok(lms, JSON.stringify(models.map((m) => m.name)));
  assert.deepEqual(
    { source: lms.source, size: lms.size, supported: lms.supported, note: lms.note },
    { source: 'lmstudio', size: stories.length, supported: true, note: 'llama, 5 layers' },
  );
  assert.equal(byName.get('corrupt.gguf')?.supported, false);
  assert.match(byName.get('corrupt.gguf')!.note, /not a GGUF|too small/i);
  assert.match(byName.get('truncated.gguf')!.note, /ends|incomplete|truncated/);
  assert.match(byName.get('gemma.gguf')!.note, /architecture "gemma3" is not supported/);
  const hf = models.filter((m) => m.source === 'huggingface');
  assert.deepEqual(
    hf.map((m) => m.name),
    ['karpathy/tiny-GGUF/q/tiny.gguf'],
    'two revisions, one blob: listed once',
  );
  assert.equal(hf[0]!.supported, true);
  const ollama = models.filter((m) => m.source === 'ollama');
  // Manifests are read in sorted order, so of two tags on one blob the first name is kept.
  assert.deepEqual(
    ollama.map((m) => m.name),
    ['hf.co/someone/model:Q4', 'library/half:7b', 'library/tiny:alias'],
  );
  assert.equal(ollama.find((m) => m.name === 'library/tiny:alias')?.supported, true);
  assert.equal(
    ollama.find((m) => m.name === 'library/tiny:alias')?.path,
    path.join(home, '.ollama', 'models', 'blobs', `sha256-${createHash('sha256').update(stories).digest('hex')}`),
  );
  assert.match(ollama.find((m) => m.name === 'library/half:7b')!.note, /incomplete: 500 of \d+ bytes/);
  assert.equal(ollama.find((m) => m.name === 'library/half:7b')!.supported, false);
  assert.ok(!models.some((m) => /partial|incomplete$/.test(m.path)), 'partial downloads are never models');
  assert.ok(!models.some((m) => m.name.includes('gone')), 'a manifest without its blob is skipped');
  assert.ok(
    !models.some((m) => m.path.includes(`${path.sep}loop${path.sep}`)),
    'the symlink loop is entered at most once',
  );
  assert.equal(truncated, false);
});

test('the same file reached twice (symlinked folder) is listed once', async () => {
  const { models } = await discover();
  const reals = models.map((m) => fs.realpathSync(m.path));
  assert.equal(new Set(reals).size, reals.length);
});

test('limits: an entry budget cuts the search short and says so; nothing is found outside the roots', async () => {
  const small = await discover({ maxEntries: 3 });
  assert.equal(small.truncated, true);
  assert.ok(small.models.length <= 3);
  const none = await discoverModels({ home: path.join(home, 'nobody'), env: {}, platform: 'linux' });
  assert.deepEqual(none, { models: [], truncated: false });
  const unchecked = await discover({ maxChecks: 0 });
  assert.ok(
    unchecked.models.length > 0 && unchecked.models.every((m) => m.supported === undefined || m.source === 'ollama'),
  );
});

test('a deep tree is walked in bounded time with a deadline', async () => {
  const deep = path.join(home, 'deep');
  let d = deep;
  for (let i = 0; i < 40; i++) d = path.join(d, `d${i}`);
  put(path.join(d, 'x.gguf'), stories);
  const t0 = Date.now();
  const r = await discoverModels({ roots: [{ source: 'llama.cpp', dir: deep }], maxDepth: 6 });
  assert.equal(r.models.length, 0);
  assert.equal(r.truncated, true);
  assert.ok(Date.now() - t0 < 2000);
  const all = await discoverModels({ roots: [{ source: 'llama.cpp', dir: deep }], maxDepth: 64 });
  assert.equal(all.models.length, 1);
});

test('header checks run in the reader thread, with the same verdicts and notes as checkGGUF on this thread', async () => {
  const viaReader = await discover();
  assert.equal(sharedReader().running, true, 'the default probe started the reader thread');
  const inThread = await discover({ probe: async (f) => checkGGUF(f) });
  assert.deepEqual(viaReader, inThread);
  assert.ok(viaReader.models.some((m) => m.supported === false) && viaReader.models.some((m) => m.supported === true));
  // A reader that cannot run leaves the file unchecked (no verdict on the file), and discovery goes on.
  const broken = await discover({
    probe: () => Promise.reject(new Error('the workspace reader exited unexpectedly (code 1)')),
  });
  assert.ok(
    broken.models.length > 0 &&
      broken.models.every((m) => m.supported === undefined || m.note.startsWith('incomplete')),
  );
  assert.match(
    broken.models.find((m) => m.name === 'corrupt.gguf')!.note,
    /^not checked \(the workspace reader exited/,
  );
});

test('environment overrides: HF_HUB_CACHE / HF_HOME, LLAMA_CACHE, OLLAMA_MODELS, XDG_CACHE_HOME, PodLens folder first', () => {
  const roots = (env: Record<string, string>, platform: NodeJS.Platform = 'linux') =>
    modelRoots({ home: '/h', env, platform, podlensDir: '/g/models' }).map((r) => `${r.source}:${r.dir}`);
  assert.deepEqual(roots({}), [
    'podlens:/g/models',
    'lmstudio:/h/.lmstudio/models',
    'lmstudio:/h/.cache/lm-studio/models',
    'llama.cpp:/h/.cache/llama.cpp',
    'huggingface:/h/.cache/huggingface/hub',
    'ollama:/h/.ollama/models',
    'ollama:/usr/share/ollama/.ollama/models',
  ]);
  const custom = roots({ HF_HOME: '/hf', LLAMA_CACHE: '/lc', OLLAMA_MODELS: '/om' });
  assert.ok(
    custom.includes('huggingface:/hf/hub') && custom.includes('llama.cpp:/lc') && custom.includes('ollama:/om'),
  );
  assert.ok(!custom.some((r) => r.startsWith('ollama:/usr')));
  assert.ok(roots({ HF_HOME: '/hf', HF_HUB_CACHE: '/hub' }).includes('huggingface:/hub'));
  assert.ok(roots({ XDG_CACHE_HOME: '/x' }).includes('llama.cpp:/x/llama.cpp'));
  assert.ok(roots({}, 'darwin').includes('llama.cpp:/h/Library/Caches/llama.cpp'));
});
