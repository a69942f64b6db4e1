/**
 * A webhook_url may not point the farm at internal hosts: loopback, private, link-local, CGNAT and
 * cloud metadata addresses are refused when a generation or batch is submitted, whether written as
 * an address (in any of the spellings URL parsers accept) or as a DNS name that resolves there.
 * Delivery checks again and connects only to the address it checked (libs/webhooks), which
 * catches a name that re-resolves later.
 */
import { hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { checkWebhookUrl } from '@chorus/webhooks';
import { describe, expect, it } from 'vitest';
import { useApi } from '../api/api-under-test';

const api = useApi('webhook_targets');

const REFUSED = [
  'http://127.0.0.1/hook',
  'http://127.1/hook',
  'http://2130706433/hook', // 127.0.0.1 as one decimal number
  'http://0x7f000001/hook',
  'http://0.0.0.0/hook',
  'http://[::1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:7f00:1]/hook',
  'http://10.0.0.5/hook',
  'http://172.16.3.4/hook',
  'http://192.168.1.10/hook',
  'http://100.100.100.200/latest/meta-data', // Alibaba Cloud metadata, CGNAT range
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/', // AWS, GCP, Azure metadata
  'http://[fd00:ec2::254]/latest/meta-data', // AWS metadata over IPv6
  'http://[fe80::1]/hook',
  'http://[fc00::1]/hook',
  'http://localhost:3000/hook',
  'http://LOCALHOST./hook',
];

/** Names this machine resolves to loopback or private addresses (/etc/hosts, the host's own name). */
async function namesResolvingInternally(): Promise<string[]> {
  const names: string[] = [];
  for (const name of ['localhost', hostname()]) {
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length > 0) names.push(name);
  }
  return names;
}

async function submit(body: Record<string, unknown>, path = '/v1/generations') {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { ...api.auth(api.tenantA), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { errors?: { field: string; message: string }[] } };
}

describe('webhook targets', () => {
  it.each(REFUSED)('refuses %s on a generation, naming webhook_url', async (url) => {
    const answer = await submit({ prompt: 'x', seconds_total: 1, steps: 1, webhook_url: url });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.map((error) => error.field)).toContain('webhook_url');
  });

  it('refuses DNS names that resolve to internal addresses', async () => {
    const names = await namesResolvingInternally();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const answer = await submit({ prompt: 'x', seconds_total: 1, steps: 1, webhook_url: `http://${name}:8080/hook` });
      expect(answer.status, name).toBe(400);
      expect(JSON.stringify(answer.body)).toMatch(/resolves to/);
      // The same check the delivery side runs, with real DNS.
      await expect(checkWebhookUrl(`https://${name}/hook`)).rejects.toThrow(/public address/);
    }
  });

  it('refuses them on a batch too, and creates nothing', async () => {
    const before = await api.db.prisma.generation.count();
    for (const url of ['http://169.254.169.254/', 'http://localhost/hook']) {
      const answer = await submit({ items: [{ prompt: 'x', seconds_total: 1, steps: 1 }], webhook_url: url }, '/v1/batches');
      expect(answer.status, url).toBe(400);
      const row = await submit({ items: [{ prompt: 'x', seconds_total: 1, steps: 1, webhook_url: url }] }, '/v1/batches');
      expect(row.status, `row ${url}`).toBe(400);
    }
    expect(await api.db.prisma.generation.count()).toBe(before);
  });

  it('refuses credentials in the URL and schemes other than http(s)', async () => {
    for (const url of ['http://user:pass@example.com/hook', 'file:///etc/passwd', 'gopher://example.com/', 'ftp://example.com/']) {
      const answer = await submit({ prompt: 'x', seconds_total: 1, steps: 1, webhook_url: url });
      expect(answer.status, url).toBe(400);
    }
  });

  it('checks at delivery against the address it connects to: a name re-resolving to metadata is refused then', async () => {
    let calls = 0;
    // Public when submitted, the metadata address when delivered (DNS rebinding).
    const rebinding = async () => [{ address: calls++ === 0 ? '93.184.216.34' : '169.254.169.254', family: 4 as const }];
    await expect(checkWebhookUrl('https://rebind.example/hook', { resolve: rebinding })).resolves.toMatchObject({ address: { address: '93.184.216.34' } });
    await expect(checkWebhookUrl('https://rebind.example/hook', { resolve: rebinding })).rejects.toThrow(/link-local|metadata|public address/);
  });
});
