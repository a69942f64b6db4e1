import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, signatureProblem, verifySignature } from './signature';

const secret = 'whsec_test';
const body = JSON.stringify({ id: 'e1', type: 'generation.succeeded', data: { id: 'g1' } });

describe('webhook signatures', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">', () => {
    const header = signatureHeader(secret, body, 1_700_000_000);
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');

    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies its own header within the tolerance', () => {
    const now = 1_700_000_000;
    expect(verifySignature(signatureHeader(secret, body, now - 60), body, secret, { now })).toBe(true);
  });

  it('refuses a changed body, another secret and a stale timestamp', () => {
    const now = 1_700_000_000;
    const header = signatureHeader(secret, body, now);

    expect(signatureProblem(header, `${body} `, secret, { now })).toMatch(/no v1 signature matches/);
    expect(signatureProblem(header, body, 'another', { now })).toMatch(/no v1 signature matches/);
    expect(signatureProblem(header, body, secret, { now: now + 301 })).toMatch(/tolerance/);
    expect(signatureProblem(undefined, body, secret, { now })).toMatch(/missing/);
  });

  it('accepts a header carrying several v1 signatures when one matches (secret rotation)', () => {
    const now = 1_700_000_000;
    const good = signatureHeader(secret, body, now).split(',')[1];
    expect(verifySignature(`t=${now},v1=${'0'.repeat(64)},${good}`, body, secret, { now })).toBe(true);
  });
});
