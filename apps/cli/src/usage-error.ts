/** A bad flag, file or model (exit code 2), or an interrupt (130): one line, nothing written. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
