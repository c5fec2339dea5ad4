// Number formatting shared by the webviews (bytes, milliseconds, rates). Pure; no DOM.

export function bytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 2 ** 20) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MB`;
  return `${(n / 2 ** 30).toFixed(2)} GB`;
}

export const ms = (n: number): string => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`);

export const rate = (n: number): string => `${n.toFixed(1)} tok/s`;

export const percent = (n: number): string => `${n.toFixed(n > 0 && n < 10 ? 1 : 0)}%`;
