import { Inject, Injectable } from '@nestjs/common';
import { checkWebhookUrl, WebhookUrlRefusedError } from '@chorus/webhooks';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

/**
 * Checks a webhook_url when it is given, as delivery will check it again: public addresses only
 * (docs/webhooks.md). Returns the reason it is refused, or null. A name that does not resolve yet
 * is accepted: there is nothing to judge, and every delivery resolves and checks it afresh.
 */
@Injectable()
export class WebhookUrlPolicy {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  async refusal(url: string): Promise<string | null> {
    try {
      await checkWebhookUrl(url, { allowLoopback: this.config.WEBHOOK_ALLOW_LOOPBACK });
      return null;
    } catch (error) {
      if (error instanceof WebhookUrlRefusedError) return error.unresolved ? null : error.reason;
      throw error;
    }
  }
}
