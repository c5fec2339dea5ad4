// The machine a bench result was measured on, as one header that every bench mode (default,
// --long, --session) prints first and stores first in its JSON and markdown: CPU model name,
// vendor / family / model / stepping (cpuinfo and lscpu), hypervisor, the ISA flags that decide
// both engines' kernels (present AND absent from one fixed list), cores/threads, RAM, runtime
// versions and the load average before/after. Ratios vs llama.cpp move with the CPU: SmolLM2
// prefill was 1.69× on a Zen 4 guest and 0.42× on an AMX guest (shared/docs/performance.md).
// Not for per-run contention (bench.ts measures other processes' CPU use during each run).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The ISA flags reported for every result, in this order (Linux /proc/cpuinfo spellings). */
export const ISA_FLAGS = [
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
] as const;

export interface MachineInfo {
  /** /proc/cpuinfo "model name" (a VM may print only "AMD EPYC"). */
  cpuModel: string | undefined;
  vendor: string | undefined;
  family: number | undefined;
  model: number | undefined;
  stepping: number | undefined;
  microcode: string | undefined;
  /** What the cpuid signature usually means; a hypervisor may present a generic CPU model. */
  signatureHint: string | undefined;
  /** lscpu's view, when lscpu exists. */
  lscpu: { vendor?: string; modelName?: string; hypervisor?: string; l3?: string } | undefined;
  isa: { present: string[]; absent: string[] };
  /** Best int8 dot-product path the flags allow (what llama.cpp's int8 kernels can use). */
  int8Path: string;
  /** Physical cores and logical CPUs (threads); `available` is Node's availableParallelism(). */
  cores: number | undefined;
  threads: number;
  available: number;
  /** CPU limit of this process's cgroup, in CPUs, when one is set. */
  cgroupCpus: number | undefined;
  totalMemoryBytes: number;
  availableMemoryBytes: number | undefined;
  node: string;
  onnxruntimeNode: string | undefined;
  nodeLlamaCpp: string | undefined;
  platform: string;
  podlensRevision: string | undefined;
  date: string;
  /** 1, 5 and 15 minute load averages when the bench started and when it ended. */
  loadAverageStart: number[];
  loadAverageEnd: number[] | undefined;
}

const ROOT = path.resolve(__dirname, '..');

export function pkgVersion(name: string): string | undefined {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }
    ).version;
  } catch {
    return undefined;
  }
}

function gitRevision(): string | undefined {
  try {
    const git = (args: string[]): string =>
      execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const rev = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain', '--', 'src']) ? `${rev}+dirty-src` : rev;
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** "key : value" lines (cpuinfo, lscpu, meminfo) → the first value of each key. */
function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    if (!m.has(k)) m.set(k, line.slice(i + 1).trim());
  }
  return m;
}

const int = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);

function lscpu(): Map<string, string> | undefined {
  try {
    return fields(
      execFileSync('lscpu', [], {
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
  } catch {
    return undefined;
  }
}

/** cgroup v2 cpu.max or v1 cfs quota, in CPUs; undefined when unlimited or unknown. */
function cgroupCpus(): number | undefined {
  const v2 = readText('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
  if (v2.length === 2 && v2[0] !== 'max' && int(v2[0]) && int(v2[1])) return Number(v2[0]) / Number(v2[1]);
  const q = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')),
    p = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return q > 0 && p > 0 ? q / p : undefined;
}

/** The microarchitecture a cpuid signature usually belongs to (server parts only; a hint, not a fact). */
function signatureHint(
  vendor: string | undefined,
  family: number | undefined,
  model: number | undefined,
): string | undefined {
  if (family === undefined || model === undefined) return undefined;
  if (vendor === 'AuthenticAMD') {
    if (family === 0x17 && model === 0x01) return 'Zen 1 (Naples), or the generic "EPYC" vCPU model of QEMU/KVM';
    if (family === 0x17 && model === 0x31) return 'Zen 2 (Rome)';
    if (family === 0x19 && model === 0x01) return 'Zen 3 (Milan)';
    if (family === 0x19 && model === 0x11) return 'Zen 4 (Genoa)';
    if (family === 0x19 && model === 0xa0) return 'Zen 4c (Bergamo)';
    if (family === 0x1a) return 'Zen 5 (Turin)';
  } else if (vendor === 'GenuineIntel' && family === 6) {
    const intel: Record<number, string> = {
      0x55: 'Skylake-SP / Cascade Lake / Cooper Lake',
      0x6a: 'Ice Lake-SP',
      0x8f: 'Sapphire Rapids',
      0xcf: 'Emerald Rapids',
      0xad: 'Granite Rapids',
    };
    return intel[model];
  }
  return undefined;
}

function int8Path(present: readonly string[]): string {
  const has = (f: string): boolean => present.includes(f);
  if (has('amx_int8')) return 'AMX int8 (+ AVX-512 VNNI)';
  if (has('avx512_vnni')) return 'AVX-512 VNNI';
  if (has('avx_vnni')) return 'AVX-VNNI (256-bit)';
  if (has('avx2')) return 'AVX2 only (no VNNI: int8 dot products via maddubs)';
  return 'no AVX2';
}

/** Describe this machine now; call finishMachine() when the bench ends (load average after). */
export function describeMachine(): MachineInfo {
  const info = fields(readText('/proc/cpuinfo'));
  const flags = new Set((info.get('flags') ?? '').split(/\s+/).filter(Boolean));
  const ls = lscpu();
  const vendor = info.get('vendor_id') ?? ls?.get('Vendor ID');
  const family = int(info.get('cpu family') ?? ls?.get('CPU family'));
  const model = int(info.get('model') ?? ls?.get('Model'));
  const present = ISA_FLAGS.filter((f) => flags.has(f));
  const perSocket = int(ls?.get('Core(s) per socket')),
    sockets = int(ls?.get('Socket(s)'));
  const cores = perSocket !== undefined && sockets !== undefined ? perSocket * sockets : int(info.get('cpu cores'));
  const memAvailKb = int(
    fields(readText('/proc/meminfo'))
      .get('MemAvailable')
      ?.replace(/\s*kB$/, ''),
  );
  return {
    cpuModel: info.get('model name') ?? os.cpus()[0]?.model?.trim(),
    vendor,
    family,
    model,
    stepping: int(info.get('stepping') ?? ls?.get('Stepping')),
    microcode: info.get('microcode'),
    signatureHint: signatureHint(vendor, family, model),
    lscpu: ls && {
      vendor: ls.get('Vendor ID'),
      modelName: ls.get('Model name'),
      hypervisor: ls.get('Hypervisor vendor'),
      l3: ls.get('L3 cache'),
    },
    isa: { present, absent: ISA_FLAGS.filter((f) => !flags.has(f)) },
    int8Path: int8Path(present),
    cores,
    threads: os.cpus().length,
    available: os.availableParallelism(),
    cgroupCpus: cgroupCpus(),
    totalMemoryBytes: os.totalmem(),
    availableMemoryBytes: memAvailKb === undefined ? undefined : memAvailKb * 1024,
    node: process.version,
    onnxruntimeNode: pkgVersion('onnxruntime-node'),
    nodeLlamaCpp: pkgVersion('node-llama-cpp'),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    podlensRevision: gitRevision(),
    date: new Date().toISOString(),
    loadAverageStart: os.loadavg(),
    loadAverageEnd: undefined,
  };
}

export function finishMachine(m: MachineInfo): void {
  m.loadAverageEnd = os.loadavg();
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
const load = (l: readonly number[] | undefined): string => (l ? l.map((x) => x.toFixed(2)).join(' ') : '—');

/** The header as [label, value] pairs (shared by the terminal and markdown forms). */
function headerRows(m: MachineInfo): [string, string][] {
  const sig = [
    m.vendor,
    m.family !== undefined && `family ${m.family}`,
    m.model !== undefined && `model ${m.model}`,
    m.stepping !== undefined && `stepping ${m.stepping}`,
    m.microcode && `microcode ${m.microcode}`,
  ]
    .filter(Boolean)
    .join(' ');
  const ls = m.lscpu
    ? `lscpu: ${m.lscpu.vendor ?? '?'} "${m.lscpu.modelName ?? '?'}"${m.lscpu.l3 ? `, L3 ${m.lscpu.l3}` : ''}`
    : 'lscpu: not available';
  const guest = m.lscpu?.hypervisor ? `${m.lscpu.hypervisor} guest` : 'no hypervisor reported';
  return [
    ['CPU', `${m.cpuModel ?? 'unknown'} — ${sig || 'no cpuid signature'}`],
    ['', `${ls}; ${guest}${m.signatureHint ? `; signature: ${m.signatureHint}` : ''}`],
    ['ISA present', m.isa.present.join(' ') || 'none of the list'],
    ['ISA absent', m.isa.absent.join(' ') || 'none of the list'],
    ['int8 path', m.int8Path],
    [
      'cores',
      `${m.cores ?? '?'} cores / ${m.threads} threads (available ${m.available}${m.cgroupCpus !== undefined ? `, cgroup limit ${m.cgroupCpus.toFixed(2)} CPUs` : ''})`,
    ],
    [
      'RAM',
      `${gib(m.totalMemoryBytes)} total${m.availableMemoryBytes !== undefined ? `, ${gib(m.availableMemoryBytes)} available at start` : ''}`,
    ],
    [
      'software',
      `node ${m.node}, onnxruntime-node ${m.onnxruntimeNode ?? '?'}, node-llama-cpp ${m.nodeLlamaCpp ?? '?'}, ${m.platform}, PodLens ${m.podlensRevision ?? '?'}`,
    ],
    [
      'load avg',
      `${load(m.loadAverageStart)} at start (1/5/15 min)${m.loadAverageEnd ? `, ${load(m.loadAverageEnd)} at end` : ''}; ${m.threads} CPUs`,
    ],
  ];
}

/** The header for the terminal: one "label  value" line per item. */
export function formatMachineHeader(m: MachineInfo): string {
  return headerRows(m)
    .map(([k, v]) => `${k.padEnd(12)} ${v}`)
    .join('\n');
}

/** One line for beside a results table: enough to tell machine classes apart. */
export function machineSummary(m: MachineInfo): string {
  return (
    `${m.cpuModel ?? 'unknown CPU'} (${m.vendor ?? '?'} ${m.family ?? '?'}/${m.model ?? '?'}/${m.stepping ?? '?'}), ` +
    `${m.threads} threads, int8 path: ${m.int8Path}, load ${load(m.loadAverageStart)} → ${load(m.loadAverageEnd)}`
  );
}

/** The header as a markdown list (starts every markdown report). */
export function machineMarkdown(m: MachineInfo): string {
  const rows = headerRows(m);
  const out: string[] = [];
  for (const [k, v] of rows) {
    if (k === '') out[out.length - 1] += `; ${v}`;
    else out.push(`- **${k}**: ${v}`);
  }
  return out.join('\n');
}
