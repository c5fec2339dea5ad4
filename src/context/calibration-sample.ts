// Calibration texts from workspace files (PodLens: Calibrate Model's default): PoD calibration
// (pod-method.md §6) needs long, realistic texts — longer than S + R + q tokens — so files are
// taken largest first and consecutive ones joined (each with a path header) until a text reaches
// `targetChars`; at most `maxTexts` texts, each at most 2 × targetChars. Deterministic for a
// given set of files. Not here: reading files (walk.ts), calibrating (engine/calibrate.ts).

export interface SampleText {
  name: string;
  text: string;
}

export function sampleCalibrationTexts(
  files: readonly { path: string; text: string }[],
  o: { targetChars: number; maxTexts: number },
): SampleText[] {
  const sorted = [...files].sort(
    (a, b) => b.text.length - a.text.length || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  const out: SampleText[] = [];
  let names: string[] = [];
  let text = '';
  const flush = (): void => {
    if (text)
      out.push({
        name: names.length > 1 ? `${names[0]} + ${names.length - 1} more` : names[0]!,
        text: text.slice(0, 2 * o.targetChars),
      });
    names = [];
    text = '';
  };
  for (const f of sorted) {
    if (out.length >= o.maxTexts) break;
    names.push(f.path);
    text += `### File: ${f.path}\n${f.text}${f.text.endsWith('\n') ? '' : '\n'}\n`;
    if (text.length >= o.targetChars) flush();
  }
  if (out.length < o.maxTexts) flush();
  return out;
}
