const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Splits a streamed JSON array of objects (a QIDO-RS answer) into the bytes of its elements, chunk
 * by chunk, so each can be judged without holding the whole answer and passed on as Orthanc wrote
 * it. It works on the bytes, never decoded: every byte of a multi-byte UTF-8 character is ≥ 0x80, so
 * none is taken for structure. It only finds the element boundaries (nesting, strings, escapes); the
 * caller still parses each element, and anything but `[ {…}, {…} ]` is an error, so a malformed
 * answer fails closed.
 */
export class JsonArraySplitter {
  private state: 'start' | 'first' | 'element' | 'comma' | 'next' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pieces: Buffer[] = [];

  constructor(private readonly onElement: (json: Buffer) => void) {}

  /** Feeds the next chunk; calls onElement for each element it completes (a view into `chunk` when the element lies within it). */
  write(chunk: Buffer): void {
    let elementStart = this.state === 'element' ? 0 : -1;
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      if (this.state === 'element') {
        if (this.advanceInElement(byte)) {
          this.emit(chunk.subarray(elementStart, index + 1));
          this.state = 'comma';
        }
        continue;
      }
      if (byte === SPACE || byte === TAB || byte === LF || byte === CR) continue;
      if (this.state === 'start' && byte === OPEN_ARRAY) this.state = 'first';
      else if (this.state === 'comma' && byte === COMMA) this.state = 'next';
      else if ((this.state === 'first' || this.state === 'comma') && byte === CLOSE_ARRAY) this.state = 'done';
      else if ((this.state === 'first' || this.state === 'next') && byte === OPEN_OBJECT) {
        this.state = 'element';
        this.depth = 1;
        elementStart = index;
      } else throw new SyntaxError(`unexpected ${JSON.stringify(String.fromCharCode(byte))} in a JSON array of objects`);
    }
    // A copy: an element spanning chunks must not keep each chunk's whole read buffer alive.
    if (this.state === 'element') this.pieces.push(Buffer.from(chunk.subarray(elementStart)));
  }

  private emit(last: Buffer): void {
    if (this.pieces.length === 0) return this.onElement(last);
    this.pieces.push(last);
    const element = Buffer.concat(this.pieces);
    this.pieces = [];
    this.onElement(element);
  }

  /** Whether `byte` closes the current element. */
  private advanceInElement(byte: number): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (byte === BACKSLASH) this.escaped = true;
      else if (byte === QUOTE) this.inString = false;
      return false;
    }
    if (byte === QUOTE) this.inString = true;
    else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) this.depth += 1;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) this.depth -= 1;
    return this.depth === 0;
  }

  /** The input ended: it must have been a complete array. */
  end(): void {
    if (this.state !== 'done') throw new SyntaxError('the JSON array ended early');
  }
}
