// Incremental detokenization for generation: token ids go in one at a time, text comes out as
// soon as it forms whole characters. A multi-byte UTF-8 character split across tokens (common
// for emoji and CJK with byte-level BPE) is held back until its last byte arrives, so no partial
// character or U+FFFD is ever emitted for valid output.
import type { Pieces, PieceState } from './pieces';

export interface StreamDecoder {
  /** Add one token; returns the text completed by it (possibly ''). */
  push(id: number): string;
  /** End of stream: returns any held-back bytes (an incomplete character becomes U+FFFD). */
  flush(): string;
}

export class Utf8StreamDecoder implements StreamDecoder {
  private decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly state: PieceState;

  constructor(
    private readonly pieces: Pieces,
    private readonly skipSpecial: boolean,
  ) {
    this.state = pieces.start();
  }

  push(id: number): string {
    return this.decoder.decode(this.pieces.next(id, this.skipSpecial, this.state), { stream: true });
  }

  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    return rest;
  }
}
