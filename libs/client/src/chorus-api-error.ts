import type { ProblemDocument } from '@chorus/contracts';

/** The API answered with an error; `problem` is its problem document. */
export class ChorusApiError extends Error {
  constructor(readonly problem: ProblemDocument) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'ChorusApiError';
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string | undefined {
    return this.problem.code;
  }
}
