import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses a webhook may be delivered to: public unicast only. Everything a caller
 * could use to reach the farm's own network is refused — loopback, RFC 1918 private ranges,
 * carrier-grade NAT, link-local (which holds the cloud metadata service 169.254.169.254),
 * unique-local IPv6 (which holds AWS's fd00:ec2::254), multicast and reserved ranges.
 * IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are judged as the IPv4 address they carry.
 */
const REFUSED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const REFUSED_V6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'local NAT64'],
  ['100::', 64, 'discard'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['fc00::', 7, 'unique-local (cloud metadata)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const refused = new BlockList();
const reasons: { list: BlockList; reason: string }[] = [];
for (const [network, prefix, reason] of REFUSED_V4) {
  refused.addSubnet(network, prefix, 'ipv4');
  const one = new BlockList();
  one.addSubnet(network, prefix, 'ipv4');
  reasons.push({ list: one, reason });
}
for (const [network, prefix, reason] of REFUSED_V6) {
  refused.addSubnet(network, prefix, 'ipv6');
  const one = new BlockList();
  one.addSubnet(network, prefix, 'ipv6');
  reasons.push({ list: one, reason });
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export interface AddressPolicyOptions {
  /** Lets loopback through: only for the project's own tests (WEBHOOK_ALLOW_LOOPBACK=1). */
  allowLoopback?: boolean;
}

/** Why an address may not receive webhooks, or null when it may. */
export function refusedAddressReason(address: string, options: AddressPolicyOptions = {}): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (options.allowLoopback && LOOPBACK.check(address, type)) return null;
  // NAT64 (64:ff9b::/96) reaches whatever IPv4 address it carries: judge that one.
  const nat64 = type === 'ipv6' ? nat64Embedded(address) : null;
  if (nat64) return refusedAddressReason(nat64, options);
  if (!refused.check(address, type)) return null;
  return reasons.find(({ list }) => list.check(address, type))?.reason ?? 'not a public address';
}

export function isPublicAddress(address: string, options: AddressPolicyOptions = {}): boolean {
  return refusedAddressReason(address, options) === null;
}

function nat64Embedded(address: string): string | null {
  const match = /^64:ff9b::(?:ffff:)?(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!match) return null;
  if (match[1]) return match[1];
  const high = parseInt(match[2], 16);
  const low = parseInt(match[3], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
