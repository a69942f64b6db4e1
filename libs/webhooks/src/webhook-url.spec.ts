import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, WebhookUrlRefusedError, type HostResolver } from './webhook-url';

/** A DNS stand-in: these names are the test's own fixtures, not the code under test. */
const zone: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'rebind.example.com': ['93.184.215.14', '10.0.0.7'],
  'metadata.example.com': ['169.254.169.254'],
  'v6meta.example.com': ['fd00:ec2::254'],
};
const resolve: HostResolver = async (hostname) => {
  const addresses = zone[hostname];
  if (!addresses) throw new Error('ENOTFOUND');
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

async function refusal(url: string, allowLoopback = false): Promise<string> {
  try {
    await checkWebhookUrl(url, { resolve, allowLoopback });
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookUrlRefusedError);
    return (error as Error).message;
  }
  throw new Error(`${url} was accepted`);
}

describe('checkWebhookUrl', () => {
  it('accepts a public https URL and returns the address to connect to', async () => {
    const checked = await checkWebhookUrl('https://hooks.example.com/chorus', { resolve });
    expect(checked.address).toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('refuses literal private, loopback and metadata addresses in every spelling', async () => {
    expect(await refusal('http://127.0.0.1:8080/hook')).toMatch(/loopback/);
    expect(await refusal('http://2130706433/')).toMatch(/loopback/);
    expect(await refusal('http://0x7f.1/')).toMatch(/loopback/);
    expect(await refusal('http://[::1]/')).toMatch(/loopback/);
    expect(await refusal('http://[::ffff:10.0.0.1]/')).toMatch(/private/);
    expect(await refusal('http://169.254.169.254/latest/meta-data/')).toMatch(/metadata/);
    expect(await refusal('http://[fd00:ec2::254]/')).toMatch(/metadata/);
    expect(await refusal('http://192.168.0.10/')).toMatch(/private/);
    expect(await refusal('http://100.100.100.200/')).toMatch(/carrier-grade NAT/);
  });

  it('refuses names that resolve to internal addresses, even alongside a public one', async () => {
    expect(await refusal('https://metadata.example.com/')).toMatch(/metadata.example.com resolves to 169.254.169.254/);
    expect(await refusal('https://v6meta.example.com/')).toMatch(/fd00:ec2::254/);
    expect(await refusal('https://rebind.example.com/')).toMatch(/10.0.0.7/);
  });

  it('refuses other schemes, credentials and names that do not resolve', async () => {
    expect(await refusal('ftp://hooks.example.com/')).toMatch(/http or https/);
    expect(await refusal('file:///etc/passwd')).toMatch(/http or https/);
    expect(await refusal('https://user:pw@hooks.example.com/')).toMatch(/credentials/);
    expect(await refusal('https://nowhere.example.com/')).toMatch(/does not resolve/);
    expect(await refusal('not a url')).toMatch(/absolute/);
  });

  it('allows loopback with the test switch, and only loopback', async () => {
    await expect(checkWebhookUrl('http://127.0.0.1:9/', { resolve, allowLoopback: true })).resolves.toBeTruthy();
    expect(await refusal('http://10.0.0.1/', true)).toMatch(/private/);
  });

  it('resolves real DNS: localhost is loopback', async () => {
    await expect(checkWebhookUrl('http://localhost:8080/')).rejects.toThrow(/loopback/);
  });
});
