import { HttpException, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { busboyExceptions, multerExceptions } from '@nestjs/platform-express/multer/multer/multer.constants';
import { catchError, throwError, type Observable } from 'rxjs';
import { ProblemException, validationProblem } from '../problem/problem.exception';
import { BATCH_FILE_FIELD, BATCH_UPLOAD_LIMIT_BYTES } from './batch-upload';

const FORM = `a multipart batch is one file in the field "${BATCH_FILE_FIELD}" (.csv or .jsonl), optionally with the text fields webhook_url and priority`;

/**
 * Nest's FileInterceptor answers multer's and busboy's errors in their own words ("Unexpected file
 * field - upload"); this one, listed before it, says in ours what was wrong and what the form may hold.
 * Nest keys those errors by multer's code, so matching its constants follows multer's wording changes.
 */
@Injectable()
export class BatchUploadProblems implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((error: unknown) => throwError(() => uploadProblem(error))));
  }
}

export function uploadProblem(error: unknown): unknown {
  if (!(error instanceof HttpException) || error instanceof ProblemException) return error;
  const [kind, field] = splitMessage(error.message);
  const named = field ? `"${field}"` : 'a field';
  switch (kind) {
    case multerExceptions.LIMIT_FILE_SIZE:
      return new ProblemException('payload_too_large', 413, `the batch file may be at most ${BATCH_UPLOAD_LIMIT_BYTES} bytes`);
    case multerExceptions.LIMIT_UNEXPECTED_FILE:
    case multerExceptions.LIMIT_FILE_COUNT:
      return validationProblem([{ field: field ?? BATCH_FILE_FIELD, message: `is not expected: ${FORM}` }]);
    case multerExceptions.LIMIT_FIELD_KEY:
    case multerExceptions.LIMIT_FIELD_VALUE:
    case multerExceptions.LIMIT_FIELD_COUNT:
    case multerExceptions.LIMIT_FIELD_NESTING:
    case multerExceptions.LIMIT_FIELD_ARRAY_INDEX:
    case multerExceptions.INVALID_FIELD_NAME:
    case multerExceptions.LIMIT_PART_COUNT:
    case multerExceptions.MISSING_FIELD_NAME:
      return validationProblem([{ field: field ?? 'body', message: `${named} is too long, unnamed or one too many: ${FORM}` }]);
    case busboyExceptions.MULTIPART_BOUNDARY_NOT_FOUND:
    case busboyExceptions.MULTIPART_MALFORMED_PART_HEADER:
    case busboyExceptions.MULTIPART_UNEXPECTED_END_OF_FORM:
    case busboyExceptions.MULTIPART_UNEXPECTED_END_OF_FILE:
      return validationProblem([
        { field: 'body', message: `is not a complete multipart/form-data body (no boundary, a broken part header, or cut short): ${FORM}` },
      ]);
    default:
      return error;
  }
}

/** Nest words them `<constant>` or `<constant> - <field>`, busboy's with a `Multipart: ` prefix. */
function splitMessage(message: string): [string, string | undefined] {
  const known = [...Object.values(multerExceptions), ...Object.values(busboyExceptions)];
  for (const constant of known) {
    for (const prefix of ['', 'Multipart: ']) {
      const text = `${prefix}${constant}`;
      if (message === text) return [constant, undefined];
      if (message.startsWith(`${text} - `)) return [constant, message.slice(text.length + 3)];
    }
  }
  return [message, undefined];
}
