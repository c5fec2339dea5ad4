// GGUF / ggml type definitions shared by the reader, the dequantizers and the writer.
// Values follow ggml.h (enum ggml_type) and gguf.h (enum gguf_type); nothing here does I/O.

/** ggml tensor element types this project knows by name. Only SUPPORTED_TENSOR_TYPES can be loaded. */
export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
}

/** Block geometry of the types we can load: `blockSize` elements take `typeSize` bytes. */
export interface TypeTraits {
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
}

export const TYPE_TRAITS: ReadonlyMap<GGMLType, TypeTraits> = new Map<GGMLType, TypeTraits>([
  [GGMLType.F32, { name: 'F32', blockSize: 1, typeSize: 4 }],
  [GGMLType.F16, { name: 'F16', blockSize: 1, typeSize: 2 }],
  [GGMLType.BF16, { name: 'BF16', blockSize: 1, typeSize: 2 }],
  [GGMLType.Q4_0, { name: 'Q4_0', blockSize: 32, typeSize: 18 }],
  [GGMLType.Q4_1, { name: 'Q4_1', blockSize: 32, typeSize: 20 }],
  [GGMLType.Q5_0, { name: 'Q5_0', blockSize: 32, typeSize: 22 }],
  [GGMLType.Q5_1, { name: 'Q5_1', blockSize: 32, typeSize: 24 }],
  [GGMLType.Q8_0, { name: 'Q8_0', blockSize: 32, typeSize: 34 }],
  [GGMLType.Q4_K, { name: 'Q4_K', blockSize: 256, typeSize: 144 }],
  [GGMLType.Q6_K, { name: 'Q6_K', blockSize: 256, typeSize: 210 }],
]);

export const SUPPORTED_TENSOR_TYPES: readonly string[] = [...TYPE_TRAITS.values()].map((t) => t.name);

/**
 * The type llama.cpp would store a tensor with row length `rowLength` in when `wanted` does not
 * fit (llama_tensor_get_type's fallbacks): Q4_K → Q5_0, Q6_K → Q8_0, then F16.
 */
export function fallbackType(wanted: GGMLType, rowLength: number): GGMLType {
  const fits = (t: GGMLType): boolean => rowLength % TYPE_TRAITS.get(t)!.blockSize === 0;
  if (fits(wanted)) return wanted;
  const next = wanted === GGMLType.Q4_K ? GGMLType.Q5_0 : wanted === GGMLType.Q6_K ? GGMLType.Q8_0 : GGMLType.F16;
  return fits(next) ? next : GGMLType.F16;
}

export function typeName(t: number): string {
  return TYPE_TRAITS.get(t)?.name ?? GGMLType[t] ?? `unknown(${t})`;
}

/** Metadata value types (gguf_type). */
export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** A decoded metadata value. 64-bit integers are bigint; arrays of numbers stay plain arrays. */
export type GGUFValue = number | bigint | boolean | string | GGUFArray;
export interface GGUFArray {
  readonly itemType: GGUFValueType;
  readonly items: readonly (number | bigint | boolean | string | GGUFArray)[];
}

export interface TensorInfo {
  readonly name: string;
  /** ggml order: dims[0] = ne0 is the fastest-varying (row length). */
  readonly dims: readonly number[];
  readonly type: GGMLType;
  /** Offset relative to the start of the tensor data section. */
  readonly offset: number;
  /** Absolute offset in the file. */
  readonly fileOffset: number;
  readonly nElements: number;
  readonly nBytes: number;
}

export interface GGUFHeader {
  readonly path: string;
  readonly version: number;
  readonly fileSize: number;
  readonly metadata: ReadonlyMap<string, GGUFValue>;
  readonly metadataTypes: ReadonlyMap<string, GGUFValueType>;
  readonly tensors: readonly TensorInfo[];
  readonly alignment: number;
  readonly dataOffset: number;
}
