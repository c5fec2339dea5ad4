// Tensor bytes → float32 for the reference path: a row range (embedding lookups read only the
// rows they need) or a whole tensor (converted in bounded chunks so the raw bytes and the float
// output never both exist in full).
import { GGUFFile } from './file';
import { bytesFor, dequantizeInto } from './quants';
import { TensorInfo } from './types';

/** Raw bytes read per step by dequantizeTensor. */
const CHUNK_BYTES = 16 << 20;

/** Row geometry of a tensor: rows of dims[0] elements, everything else flattened. */
export function rowShape(info: TensorInfo): { rowLength: number; nRows: number; rowBytes: number } {
  const rowLength = info.dims[0] ?? 1;
  return { rowLength, nRows: info.nElements / rowLength, rowBytes: bytesFor(info.type, rowLength) };
}

/**
 * Dequantize rows [firstRow, firstRow + nRows) of a tensor (rows have dims[0] elements),
 * reading only those rows' bytes from the file.
 */
export function dequantizeRows(file: GGUFFile, info: TensorInfo, firstRow: number, nRows: number): Float32Array {
  const { rowLength, nRows: total, rowBytes } = rowShape(info);
  if (
    !Number.isInteger(firstRow) ||
    !Number.isInteger(nRows) ||
    firstRow < 0 ||
    nRows < 0 ||
    firstRow + nRows > total
  ) {
    throw new RangeError(`rows [${firstRow}, ${firstRow + nRows}) outside tensor ${info.name} with ${total} rows`);
  }
  const out = new Float32Array(nRows * rowLength);
  if (nRows === 0) return out;
  const bytes = file.readTensorBytes(info, firstRow * rowBytes, nRows * rowBytes);
  dequantizeInto(info.type, bytes, nRows * rowLength, out, 0);
  return out;
}

/** Dequantize a whole tensor (shape = dims in ggml order, dims[0] fastest). */
export function dequantizeTensor(file: GGUFFile, info: TensorInfo): Float32Array {
  const { rowLength, nRows, rowBytes } = rowShape(info);
  const out = new Float32Array(info.nElements);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  for (let r = 0; r < nRows; r += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, nRows - r);
    const bytes = file.readTensorBytes(info, r * rowBytes, n * rowBytes);
    dequantizeInto(info.type, bytes, n * rowLength, out, r * rowLength);
  }
  return out;
}
