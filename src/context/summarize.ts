// Map-reduce summarization of one or more texts (a selection, a file, a folder's files) with the
// engine directly: texts are cut at line boundaries into parts that fit the context (chunks.ts),
// consecutive small parts are packed together, each part is summarized on a fresh cache (map),
// and the part summaries are combined, in further rounds while they do not fit (reduce).
// Progress is reported and an AbortSignal stops between and within steps; the result says which
// files and lines were covered. Not here: reading files (walk.ts), the chat session.
import { Engine } from '../engine/engine';
import { GenerateEvent } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { SamplerOptions } from '../engine/sampler';
import { planChunks, splitPieces } from './chunks';

export const SUMMARY_SYSTEM = 'You summarize documents and code accurately and concisely. Use short bullet points.';
/** Tokens reserved for the chat template, the instruction and headers. */
const OVERHEAD = 128;
const MAX_ROUNDS = 4;

export interface SourceText {
  path: string;
  text: string;
  /** 1-based line of the text's first line in its file (a selection; default 1). */
  firstLine?: number;
}

export interface Coverage {
  path: string;
  startLine: number;
  endLine: number;
  /** The text's last line (its line count when it starts at line 1). */
  totalLines: number;
}

export interface SummaryResult {
  summary: string;
  /** Parts summarized in the map step (1 = the whole input at once). */
  parts: number;
  partsDone: number;
  rounds: number;
  inputTokens: number;
  complete: boolean;
  covered: Coverage[];
  /** One sentence: what the summary covers. */
  note: string;
}

export interface SummarizeOptions {
  maxTokens: number;
  sampler?: Partial<SamplerOptions>;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** Every generation event of every step, with the cache it fills (live KV snapshots, the last step's stats). */
  onEvent?: (ev: GenerateEvent, cache: KVCache) => void;
}

interface Part {
  text: string;
  tokens: number;
  ranges: { path: string; startLine: number; endLine: number }[];
}

export async function summarizeTexts(engine: Engine, docs: readonly SourceText[], o: SummarizeOptions): Promise<SummaryResult> {
  const count = (t: string) => (t ? engine.tokenizer.encode(t, { addBos: false, parseSpecial: false }).length : 0);
  const budget = engine.contextSize - o.maxTokens - OVERHEAD;
  if (budget < 64) throw new RangeError(`the context (${engine.contextSize} tokens) leaves no room for text after a ${o.maxTokens}-token summary; lower --max-tokens`);
  const parts: Part[] = [];
  let inputTokens = 0;
  for (const d of docs) {
    const pieces = splitPieces(d.text, d.firstLine ?? 1, budget);
    const header = `### ${d.path}\n`;
    for (const c of planChunks(pieces, pieces.map((p) => count(p.text)), Math.floor((budget - count(header)) * 0.95))) {
      const text = `${header}(lines ${c.startLine}–${c.endLine})\n\`\`\`\n${c.text}\n\`\`\`\n\n`;
      const tokens = count(text);
      inputTokens += c.tokens;
      const last = parts[parts.length - 1];
      if (last && last.tokens + tokens <= budget) { last.text += text; last.tokens += tokens; last.ranges.push({ path: d.path, startLine: c.startLine, endLine: c.endLine }); }
      else parts.push({ text, tokens, ranges: [{ path: d.path, startLine: c.startLine, endLine: c.endLine }] });
    }
  }
  if (parts.length === 0) throw new Error('nothing to summarize: the input is empty');
  const cache = engine.createCache();
  const sampler = { temperature: 0, ...o.sampler };
  const ask = async (user: string): Promise<{ text: string; aborted: boolean }> => {
    cache.truncate(0); // parts share nothing; truncating to 0 is exact for every cache kind
    let text = '', aborted = false;
    for await (const ev of engine.generate(cache, { prompt: engine.chatPrompt([{ role: 'system', content: SUMMARY_SYSTEM }, { role: 'user', content: user }]), maxTokens: o.maxTokens, sampler, signal: o.signal })) {
      o.onEvent?.(ev, cache);
      if (ev.type === 'done') { text = ev.text; aborted = ev.reason === 'abort'; }
    }
    return { text: text.trim() || '(empty)', aborted };
  };

  const summaries: string[] = [];
  const covered = new Map<string, Coverage>();
  const firstLine = (d: SourceText): number => d.firstLine ?? 1;
  const totalLines = new Map(docs.map((d) => [d.path, firstLine(d) + d.text.split(/(?<=\n)/).length - 1]));
  let partsDone = 0;
  for (const [i, p] of parts.entries()) {
    if (o.signal?.aborted) break;
    o.onProgress?.(`summarizing part ${i + 1} of ${parts.length} (${p.tokens} tokens)…`);
    const what = parts.length > 1 ? `part ${i + 1} of ${parts.length} of the input` : 'the following';
    const r = await ask(`Summarize ${what}:\n\n${p.text}`);
    if (r.aborted) break;
    summaries.push(r.text);
    partsDone++;
    for (const g of p.ranges) {
      const c = covered.get(g.path);
      if (c) c.endLine = g.endLine;
      else covered.set(g.path, { path: g.path, startLine: g.startLine, endLine: g.endLine, totalLines: totalLines.get(g.path) ?? g.endLine });
    }
  }
  let summary = summaries.length === 1 ? summaries[0]! : summaries.map((s, i) => `Part ${i + 1}:\n${s}`).join('\n\n');
  let rounds = 1;
  let level = summaries;
  while (level.length > 1 && !o.signal?.aborted && partsDone === parts.length && rounds < MAX_ROUNDS) {
    rounds++;
    // Group the summaries into inputs that fit, combine each group; repeat until one remains.
    const groups: string[][] = [[]];
    let used = 0;
    for (const s of level) {
      const n = count(s) + 8;
      if (used + n > budget && groups[groups.length - 1]!.length > 0) { groups.push([]); used = 0; }
      groups[groups.length - 1]!.push(s);
      used += n;
    }
    const next: string[] = [];
    for (const [gi, g] of groups.entries()) {
      o.onProgress?.(`combining ${g.length} summaries (round ${rounds}, group ${gi + 1} of ${groups.length})…`);
      const r = await ask(`Combine these partial summaries into one summary:\n\n${g.map((s, i) => `Part ${i + 1}:\n${s}`).join('\n\n')}`);
      if (r.aborted) break;
      next.push(r.text);
    }
    if (next.length !== groups.length) break;
    level = next;
    summary = level.length === 1 ? level[0]! : level.join('\n\n');
  }
  const complete = partsDone === parts.length && level.length === 1;
  const files = docs.length;
  const cov = [...covered.values()];
  const fully = cov.filter((c) => c.endLine >= c.totalLines).length;
  const one = files === 1 ? docs[0]! : undefined;
  const range = one ? `lines ${firstLine(one)}–${totalLines.get(one.path)}` : '';
  const note = partsDone === parts.length
    ? `Covered all ${one ? `of ${one.path} (${range}, ${inputTokens} tokens)` : `${files} files (${inputTokens} tokens)`} in ${parts.length} part${parts.length > 1 ? 's' : ''}${complete ? '' : '; the part summaries could not be combined into one'}.`
    : one
      ? `Stopped after ${partsDone} of ${parts.length} parts: ${cov[0] ? `covered lines ${firstLine(one)}–${cov[0].endLine}` : 'nothing covered'} of ${one.path} (${range}).`
      : `Stopped after ${partsDone} of ${parts.length} parts: ${fully} of ${files} files fully covered${cov.length > fully ? `, ${cov.find((c) => c.endLine < c.totalLines)?.path ?? ''} partly` : ''}.`;
  return { summary, parts: parts.length, partsDone, rounds, inputTokens, complete, covered: cov, note };
}
