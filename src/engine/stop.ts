// Stop-string handling for streamed text: text is released as soon as it cannot be the start
// of a stop string, and generation ends at the first complete stop string (which is not shown).

export class StopMatcher {
  private pending = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Feed new text. Returns the text safe to emit and whether a stop string was completed. */
  push(text: string): { emit: string; stopped: boolean } {
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      if (s.length === 0) continue;
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      const emit = this.pending.slice(0, cut);
      this.pending = '';
      return { emit, stopped: true };
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** Whatever is held back, at the end of generation. */
  flush(): string {
    const p = this.pending;
    this.pending = '';
    return p;
  }
}
