// Guard for the converted-model cache's FORMAT (src/engine/onnx/model-cache.ts): cached entries
// are keyed by the GGUF and the build settings, not by the code that builds the graph, so a graph
// change must bump FORMAT or users keep running the old graph from their cache. This test pins
// the bytes of the graphs built for fixed plans on stories260K (every attention kind, f16 and f32
// storage, int8 and int4 distant rows, members and local units) to the FORMAT they belong to.
// When it fails: bump FORMAT, then record the new format and the fingerprint the message prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { KVPlan } from '../src/engine/kv/plan';
import { FORMAT } from '../src/engine/onnx/model-cache';
import { modelPath, storiesPod as pod, wholeModelGraph } from './helpers';

/** The FORMAT and the graphs it stands for (sha256 over the plans' encoded models, in order). */
const PINNED = {
  format: 2,
  fingerprint: 'fed3c0d7de9680b0',
};

const plans = (nLayers: number, nHeads: number): KVPlan[] => [
  { kind: 'full', dtype: 'f32' },
  { kind: 'full', dtype: 'f16' },
  { kind: 'streaming', sinks: 2, recent: 6, dtype: 'f16' },
  pod(),
  pod({
    mode: 'keys',
    dtype: 'f32',
    distantBias: Array.from({ length: nLayers }, (_, l) => Array.from({ length: nHeads }, (_, h) => ((l + h) % 3) / 2)),
  }),
  pod({ distantQuant: 'int8' }),
  pod({ distantQuant: 'int4', mode: 'keys' }),
];

test('the converted-model cache FORMAT changes whenever the graphs it caches change', () => {
  const f = GGUFFile.open(modelPath('stories260K-f32.gguf'));
  try {
    const config = readModelConfig(f);
    const h = crypto.createHash('sha256');
    for (const kv of plans(config.nLayers, config.nHeads)) h.update(wholeModelGraph(f, config, kv));
    const fingerprint = h.digest('hex').slice(0, 16);
    assert.equal(
      `${FORMAT} ${fingerprint}`,
      `${PINNED.format} ${PINNED.fingerprint}`,
      fingerprint === PINNED.fingerprint
        ? `model-cache.ts FORMAT is ${FORMAT} but these graphs were pinned as format ${PINNED.format}: set PINNED.format`
        : `the graphs changed (fingerprint ${fingerprint}): bump FORMAT in src/engine/onnx/model-cache.ts, then set PINNED to { format: <the new FORMAT>, fingerprint: '${fingerprint}' }`,
    );
  } finally {
    f.close();
  }
});
