import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedWebhookUrl } from './webhook-url';

export interface WebhookPostResult {
  statusCode: number;
  durationMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a webhook body to the address the check resolved, never to a fresh DNS answer: the
 * connection's lookup is pinned, while the Host header and TLS server name stay the URL's own,
 * so certificates are still verified against the host name. Redirects are not followed (a 3xx
 * is an unsuccessful attempt), since a redirect could point anywhere.
 */
export function postWebhook(
  target: CheckedWebhookUrl,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<WebhookPostResult> {
  const started = performance.now();
  const pinned: LookupFunction = (_hostname, options, callback) => {
    const { address, family } = target.address;
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const transport = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body).toString(), ...headers },
        timeout: timeoutMs,
      },
      (response) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // The answer's body is not used; stop reading a receiver that sends too much.
          if (received > MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => resolve({ statusCode: response.statusCode ?? 0, durationMs: Math.round(performance.now() - started) });
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
