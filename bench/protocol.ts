// Messages between the bench parent and its worker processes (Node IPC channel). One worker
// runs one engine on one model file at one thread count, so peak RSS and thread settings are
// isolated; the parent tells it when to run, which lets two engines' runs interleave.

export type EngineName = 'podlens' | 'llamacpp';

export interface WorkerJob {
  engine: EngineName;
  modelPath: string;
  threads: number;
  contextSize: number;
  /** Prompt token ids (the same for both engines). */
  prompt: number[];
  /** Decode steps timed after the prefill. */
  decodeTokens: number;
  /** Tokens per prefill step (PodLens step size, llama.cpp batch size). */
  prefillChunk: number;
  /** PodLens only: the KV cache to build (default full f16); `profile` is a PoD profile path. */
  kv?: { kind: 'full' | 'pod' | 'streaming'; profile?: string; distantQuant?: 'int8' | 'int4' };
  /** PodLens only: write ONNX Runtime's per-operator profile (one JSON per session) into this folder, ended at 'finish'. */
  profileDir?: string;
}

export type ParentMessage =
  /** One prefill of the whole prompt from an empty cache, then `decodeTokens` greedy decode steps. */
  | { cmd: 'run'; decodeTokens: number }
  /** `decodeTokens` more greedy steps continuing the last run (long-context decode, interleaved). */
  | { cmd: 'decode'; decodeTokens: number }
  | { cmd: 'finish' };

export interface RunResult {
  prefillMs: number;
  decodeMs: number;
  decodeTokens: number;
  /** Greedy ids: the one sampled from the prefill logits, then one per decode step. */
  ids: number[];
  /** CPU time (user + system, all threads) the worker used during the run. */
  cpuMs: number;
  /** PodLens: bytes of K/V the cache holds after the run. */
  kvBytes?: number;
}

export interface MemoryStats {
  /** CPU time (user + system, all threads) over the worker's life, including loading. */
  cpuMs: number;
  /** VmRSS when the worker started, before importing its engine (a bare Node process). */
  baseRss: number;
  /** VmHWM: peak resident set (bytes). */
  peakRss: number;
  /** VmRSS at the end (bytes). */
  rss: number;
  /** RssAnon / RssFile at the end (bytes; file pages are mmapped weights for llama.cpp). */
  rssAnon: number;
  rssFile: number;
}

export type WorkerMessage =
  | { type: 'ready'; loadMs: number; info: Record<string, unknown> }
  | { type: 'result'; result: RunResult }
  | { type: 'finished'; memory: MemoryStats }
  | { type: 'error'; message: string };
