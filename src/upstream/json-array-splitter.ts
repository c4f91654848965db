/**
 * Splits a streamed JSON array of objects (a QIDO-RS answer) into the text of its elements, chunk
 * by chunk, so each can be parsed and judged without holding the whole answer. It only finds the
 * element boundaries (nesting, strings, escapes); every element still goes through JSON.parse, and
 * anything but `[ {…}, {…} ]` is an error, so a malformed answer fails closed.
 */
export class JsonArraySplitter {
  private state: 'start' | 'first' | 'element' | 'comma' | 'next' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pieces: string[] = [];

  constructor(private readonly onElement: (json: string) => void) {}

  /** Feeds the next decoded text chunk; calls onElement for each element it completes. */
  write(text: string): void {
    let elementStart = this.state === 'element' ? 0 : -1;
    for (let index = 0; index < text.length; index++) {
      const char = text[index]!;
      if (this.state === 'element') {
        if (this.advanceInElement(char)) {
          this.pieces.push(text.slice(elementStart, index + 1));
          this.onElement(this.pieces.join(''));
          this.pieces = [];
          this.state = 'comma';
        }
        continue;
      }
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r') continue;
      if (this.state === 'start' && char === '[') this.state = 'first';
      else if (this.state === 'comma' && char === ',') this.state = 'next';
      else if ((this.state === 'first' || this.state === 'comma') && char === ']') this.state = 'done';
      else if ((this.state === 'first' || this.state === 'next') && char === '{') {
        this.state = 'element';
        this.depth = 1;
        elementStart = index;
      } else throw new SyntaxError(`unexpected ${JSON.stringify(char)} in a JSON array of objects`);
    }
    if (this.state === 'element') this.pieces.push(text.slice(elementStart));
  }

  /** Whether `char` closes the current element. */
  private advanceInElement(char: string): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (char === '\\') this.escaped = true;
      else if (char === '"') this.inString = false;
      return false;
    }
    if (char === '"') this.inString = true;
    else if (char === '{' || char === '[') this.depth += 1;
    else if (char === '}' || char === ']') this.depth -= 1;
    return this.depth === 0;
  }

  /** The input ended: it must have been a complete array. */
  end(): void {
    if (this.state !== 'done') throw new SyntaxError('the JSON array ended early');
  }
}
