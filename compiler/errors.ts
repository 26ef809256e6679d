/**
 * A user-facing error: one line naming the file/op/port and the fix.
 * The CLI prints `tinyforge: <message>` and exits with `exitCode` (2 for bad input);
 * stack traces only with --verbose.
 */
export class TinyforgeError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'TinyforgeError';
    this.exitCode = exitCode;
  }
}

export function fail(message: string): never {
  throw new TinyforgeError(message);
}
