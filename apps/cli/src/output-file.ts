/**
 * `--out FILE` for the commands that write one audio file (`generate`, `submit`): the format it
 * implies, a check that it can be written before any work starts, and a write that leaves either
 * the whole file or none.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OUTPUT_FORMATS, type OutputFormat } from '@chorus/contracts';
import { UsageError } from './usage-error';

/**
 * `--format` if given, else the format the extension names, else WAV. A `--format` that another
 * known extension contradicts (`--format flac --out x.mp3`) is refused rather than written.
 */
export function outputFormatFor(format: OutputFormat | undefined, out: string): OutputFormat {
  const ext = path.extname(out).slice(1).toLowerCase();
  const named = (OUTPUT_FORMATS as readonly string[]).includes(ext) ? (ext as OutputFormat) : undefined;
  if (format && named && format !== named) {
    throw new UsageError(
      `--format ${format} does not match --out ${path.resolve(out)} (a .${ext} file); name the file .${format}, or leave out --format to follow the extension`,
    );
  }
  return format ?? named ?? 'wav';
}

/** Fails early, before any inference or submission, when the file could not be written. */
export async function checkOutPath(file: string): Promise<string> {
  const out = path.resolve(file);
  const existing = await stat(out).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`--out ${out} is a folder; give a file path`);
  const dir = path.dirname(out);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw new UsageError(`--out ${out}: folder ${dir} does not exist`);
  // A real write, not access(): root passes access() for paths it still cannot write (e.g. under /proc).
  const probe = tempPathFor(out);
  try {
    await writeFile(probe, '', { flag: 'wx' });
    if (existing) await access(out, constants.W_OK);
  } catch (error) {
    throw new UsageError(`--out ${out}: not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  } finally {
    await rm(probe, { force: true });
  }
  return out;
}

/** Writes beside the target, then renames, so an interrupted or failed run leaves no partial file. */
export async function writeAtomically(out: string, bytes: Uint8Array): Promise<void> {
  const temp = tempPathFor(out);
  try {
    await writeFile(temp, bytes, { flag: 'wx' });
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true });
    throw new UsageError(`--out ${out}: cannot write (${(error as Error).message})`);
  }
}

/** A hidden file beside the target, on the same file system so the final rename is atomic. */
function tempPathFor(out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.${randomBytes(6).toString('hex')}.part`);
}
