import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { refusedAddressReason, type AddressPolicyOptions } from './address-policy';

/** A webhook URL that may not be used, with the reason in words a caller can act on. */
export class WebhookUrlRefusedError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    /** The host name has no address right now: nothing to judge yet, rather than something refused. */
    readonly unresolved = false,
  ) {
    super(`webhook_url ${reason}`);
    this.name = 'WebhookUrlRefusedError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Turns a host name into its addresses; DNS by default, replaceable in tests. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const resolveWithDns: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

export interface WebhookUrlCheckOptions extends AddressPolicyOptions {
  resolve?: HostResolver;
}

/** A URL that passed the check, and the address it resolved to: connect to that one, nothing else. */
export interface CheckedWebhookUrl {
  url: URL;
  address: ResolvedAddress;
}

const MAX_URL_LENGTH = 2048;

/**
 * Checks a webhook URL the way a delivery will use it: http(s), no credentials, and a host whose
 * every address is public. A name resolving to several addresses is refused if any of them is
 * private, so DNS cannot smuggle an internal address in beside a public one. Delivery calls this
 * again and connects to the returned address, so a name that re-resolves elsewhere later
 * (DNS rebinding) is caught then too.
 */
export async function checkWebhookUrl(raw: string, options: WebhookUrlCheckOptions = {}): Promise<CheckedWebhookUrl> {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookUrlRefusedError(raw, `must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefusedError(raw, 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlRefusedError(raw, 'must use http or https');
  if (url.username || url.password) throw new WebhookUrlRefusedError(raw, 'must not contain credentials');
  // A trailing dot (`localhost.`) names the same host; resolvers without a search list fail on it,
  // which would let it through as "does not resolve yet".
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (!host) throw new WebhookUrlRefusedError(raw, 'must name a host');

  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolve ?? resolveWithDns)(host);
    } catch {
      throw new WebhookUrlRefusedError(raw, `host ${host} does not resolve`, true);
    }
    if (addresses.length === 0) throw new WebhookUrlRefusedError(raw, `host ${host} does not resolve`, true);
  }
  for (const { address } of addresses) {
    const reason = refusedAddressReason(address, options);
    if (reason) {
      const via = address === host ? '' : ` (${host} resolves to ${address})`;
      throw new WebhookUrlRefusedError(raw, `must point at a public address, not a ${reason} one${via}`);
    }
  }
  return { url, address: addresses[0] };
}
