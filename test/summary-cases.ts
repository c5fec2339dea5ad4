// Known documents and their key terms, the oracle inputs for summary quality: a TypeScript module
// and an operations page (one part each), a design document summarized at a small context (map
// step in several parts, then the reduce step), and a real file of the repo; and runCase, which
// summarizes a case as the CLI does and judges the summary and every step's raw output. Shared by
// test/summary-quality.test.ts and scripts/summary-quality.ts. Not here: the checks themselves
// (test/summary-oracle.ts), loading a model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { SamplerOptions } from '../src/engine/sampler';
import { SourceText, summarizeTexts, SummaryResult } from '../src/context/summarize';
import { ROOT } from './helpers';
import { judge, KeyTerm, promptWords, SummaryVerdict } from './summary-oracle';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'summary');

export interface SummaryCase {
  name: string;
  docs: SourceText[];
  terms: KeyTerm[];
  /**
   * The share of `terms` a summary must mention: a tolerance below the measured share (greedy
   * Qwen2.5-Coder-0.5B; numerics differ slightly between CPUs) and above the old prompts' share.
   */
  minTermShare: number;
  /** Context size to summarize at (small ones force the map-reduce path). */
  ctx: number;
  maxTokens: number;
}

export interface CaseRun {
  r: SummaryResult;
  /** The summary the user sees (after the summarizer's clean-up). */
  v: SummaryVerdict;
  /** Each map and reduce step's output as the model wrote it, before the clean-up, and its verdict. */
  steps: { text: string; v: SummaryVerdict }[];
  /** Key terms the summary must mention (minTermShare of them, rounded up). */
  need: number;
}

/** Summarize a case with the summarizer's own sampling (greedy unless `sampler` says otherwise) and judge it. */
export async function runCase(engine: Engine, c: SummaryCase, sampler?: Partial<SamplerOptions>): Promise<CaseRun> {
  const raw: string[] = [];
  const r = await summarizeTexts(engine, c.docs, {
    maxTokens: c.maxTokens,
    sampler,
    onEvent: (ev) => {
      if (ev.type === 'done') raw.push(ev.text);
    },
  });
  const instructions = promptWords(c.docs[0]!.path);
  return {
    r,
    v: judge(r.summary, c.terms, { source: c.docs.map((d) => d.text).join('\n'), instructions }),
    steps: raw.map((text) => ({ text, v: judge(text, [], { instructions }) })),
    need: Math.ceil(c.minTermShare * c.terms.length),
  };
}

const t = (name: string, ...forms: string[]): KeyTerm => ({ name, forms: forms.length ? forms : [name] });
const read = (file: string): string => fs.readFileSync(path.join(FIXTURES, file), 'utf8');

export function rateLimiterCase(): SummaryCase {
  return {
    name: 'rate-limiter.ts (code, one part)',
    docs: [{ path: 'src/api/rate-limiter.ts', text: read('rate-limiter.ts.txt') }],
    terms: [
      t('token bucket', 'token[- ]bucket'),
      t('rate limit', 'rate[- ]limit', 'limits? the rate'),
      t('refill', 'refill', 'replenish'),
      t('capacity or burst', 'capacity', 'burst'),
      t('429', '429', 'too many requests'),
      t('Retry-After', 'retry[- ]after'),
      t('API key', 'api[- ]key', 'x-api-key'),
      t('idle eviction', 'evict', 'idle'),
      t('middleware', 'middleware'),
    ],
    ctx: 1024, // one part (the test shares one engine with the map-reduce case)
    minTermShare: 0.5, // 5 of 9; measured 8 of 9 (the old prompts: 4)
    maxTokens: 128,
  };
}

export function backupsCase(): SummaryCase {
  return {
    name: 'backups.md (prose, one part)',
    docs: [{ path: 'docs/backups.md', text: read('backups.md') }],
    terms: [
      t('PostgreSQL', 'postgres'),
      t('pg_dump', 'pg_dump'),
      t('WAL', 'wal\\b', 'write-ahead'),
      t('S3', 's3'),
      t('encryption', 'encrypt'),
      t('retention', 'retention', 'retain', 'kept for', '35 days'),
      t('restore', 'restor'),
      t('drill', 'drill'),
      t('point-in-time recovery', 'point-in-time'),
      t('nightly', 'nightly', 'every night', 'daily'),
    ],
    ctx: 2048,
    minTermShare: 0.4, // 4 of 10; measured 5–6 of 10
    maxTokens: 160,
  };
}

/** Two parts at this context: the map step's summaries go through the reduce step. */
export function ternCase(): SummaryCase {
  return {
    name: 'tern-design.md (map-reduce)',
    docs: [{ path: 'docs/tern-design.md', text: read('tern-design.md') }],
    terms: [
      t('job queue', 'job queue', 'queue'),
      t('at-least-once', 'at[- ]least[- ]once'),
      t('idempotency', 'idempoten'),
      t('append-only log', 'append[- ]only', 'log'),
      t('segments', 'segment'),
      t('lease', 'lease', 'visibility'),
      t('retry with backoff', 'retr', 'backoff'),
      t('dead-letter queue', 'dead[- ]letter'),
      t('Raft', 'raft', 'consensus', 'quorum'),
      t('leader election', 'leader'),
      t('fairness between tenants', 'tenant', 'fair'),
      t('Prometheus', 'prometheus', 'metric'),
    ],
    ctx: 1024,
    minTermShare: 0.33, // 4 of 12; measured 5–6 of 12 (the old prompts: 2, and an echoed chunk)
    maxTokens: 128,
  };
}

/** A real file of the repo (its content changes rarely; the terms are its vocabulary). */
export function chunksCase(): SummaryCase {
  return {
    name: 'src/context/chunks.ts (real file)',
    docs: [
      { path: 'src/context/chunks.ts', text: fs.readFileSync(path.join(ROOT, 'src', 'context', 'chunks.ts'), 'utf8') },
    ],
    terms: [
      t('chunk', 'chunk'),
      t('token', 'token'),
      t('line', 'line'),
      t('budget', 'budget', 'limit'),
      t('piece', 'piece'),
      t('split', 'split', 'cut', 'divid'),
      t('greedy packing', 'greed', 'pack'),
    ],
    ctx: 2048,
    minTermShare: 0.4, // 3 of 7 (scripts/summary-quality.ts only)
    maxTokens: 160,
  };
}
