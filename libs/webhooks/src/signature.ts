import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (documented in docs/webhooks.md):
 *
 *   Chorus-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is inside the signed text, so a captured delivery cannot be replayed later
 * than the receiver's tolerance; `v1` names the scheme so a second one can be added beside it.
 */
export const SIGNATURE_HEADER = 'Chorus-Signature';
export const SIGNATURE_SCHEME = 'v1';
/** How old a signature a receiver should accept, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function computeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for one delivery attempt. */
export function signatureHeader(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},${SIGNATURE_SCHEME}=${computeSignature(secret, timestamp, body)}`;
}

export interface VerifyOptions {
  toleranceSeconds?: number;
  /** Unix seconds; defaults to the clock. */
  now?: number;
}

/** Why a signature was refused, or null when it verifies. */
export function signatureProblem(header: string | undefined, body: string | Buffer, secret: string, options: VerifyOptions = {}): string | null {
  if (!header) return `missing ${SIGNATURE_HEADER} header`;
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const [name, ...rest] = item.trim().split('=');
    parts.set(name, [...(parts.get(name) ?? []), rest.join('=')]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(timestamp)) return 'no timestamp (t=) in the signature header';
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return 'timestamp outside the tolerance';
  const expected = Buffer.from(computeSignature(secret, timestamp, body), 'hex');
  const matches = (parts.get(SIGNATURE_SCHEME) ?? []).some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? null : 'no v1 signature matches';
}

export function verifySignature(header: string | undefined, body: string | Buffer, secret: string, options: VerifyOptions = {}): boolean {
  return signatureProblem(header, body, secret, options) === null;
}
