import type { WebhookAttempt } from '@chorus/db';
import { SIGNATURE_HEADER, signatureHeader } from './signature';
import { checkWebhookUrl, WebhookUrlRefusedError, type HostResolver } from './webhook-url';
import { postWebhook } from './webhook-post';
import type { WebhookJobData } from './webhook-queue';

/** Where the deliverer reads a tenant's signing secret. */
export interface WebhookSecrets {
  secretFor(tenantId: string): Promise<string | null>;
}

/** Where every attempt is recorded (WebhookDeliveryRepository). */
export interface WebhookAttemptLog {
  record(attempt: WebhookAttempt): Promise<void>;
}

export interface WebhookDelivererOptions {
  /** Only for the project's own tests (WEBHOOK_ALLOW_LOOPBACK=1). */
  allowLoopback?: boolean;
  timeoutMs?: number;
  resolve?: HostResolver;
  userAgent?: string;
}

/** An attempt that failed in a way another attempt could fix (the receiver answered 500, timed out…). */
export class WebhookAttemptFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAttemptFailedError';
  }
}

/** A delivery that no retry can make: the URL is refused now, or the tenant is gone. */
export class WebhookUndeliverableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUndeliverableError';
  }
}

/**
 * One delivery attempt: re-check the URL (its name may resolve elsewhere since it was given),
 * sign the body with the tenant's current secret and a fresh timestamp, POST it to the checked
 * address, and record the attempt whatever happens. A 2xx answer is success.
 */
export class WebhookDeliverer {
  constructor(
    private readonly secrets: WebhookSecrets,
    private readonly attempts: WebhookAttemptLog,
    private readonly options: WebhookDelivererOptions = {},
  ) {}

  async deliver(job: WebhookJobData, attempt: number): Promise<void> {
    const base = { eventId: job.eventId, tenantId: job.tenantId, event: job.type, generationId: job.generationId, batchId: job.batchId, url: job.url, attempt };
    const secret = await this.secrets.secretFor(job.tenantId);
    if (!secret) {
      await this.attempts.record({ ...base, succeeded: false, error: 'the tenant has no webhook secret' });
      throw new WebhookUndeliverableError(`tenant ${job.tenantId} has no webhook secret`);
    }
    let target;
    try {
      target = await checkWebhookUrl(job.url, { allowLoopback: this.options.allowLoopback, resolve: this.options.resolve });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.attempts.record({ ...base, succeeded: false, error: message });
      if (error instanceof WebhookUrlRefusedError) throw new WebhookUndeliverableError(message);
      throw new WebhookAttemptFailedError(message);
    }
    const headers = {
      [SIGNATURE_HEADER]: signatureHeader(secret, job.body),
      'Chorus-Event': job.type,
      'Chorus-Delivery': job.eventId,
      'Chorus-Attempt': String(attempt),
      'user-agent': this.options.userAgent ?? 'Chorus-Webhooks/1',
    };
    try {
      const { statusCode, durationMs } = await postWebhook(target, job.body, headers, this.options.timeoutMs ?? 10_000);
      const succeeded = statusCode >= 200 && statusCode < 300;
      await this.attempts.record({ ...base, address: target.address.address, statusCode, durationMs, succeeded, error: succeeded ? null : `answered ${statusCode}` });
      if (!succeeded) throw new WebhookAttemptFailedError(`the receiver answered ${statusCode}`);
    } catch (error) {
      if (error instanceof WebhookAttemptFailedError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      await this.attempts.record({ ...base, address: target.address.address, succeeded: false, error: message });
      throw new WebhookAttemptFailedError(message);
    }
  }
}
