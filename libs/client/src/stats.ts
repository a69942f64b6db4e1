import type { FarmStats } from '@chorus/contracts';
import { ChorusClient } from './chorus-client';

declare module './chorus-client' {
  interface ChorusClient {
    /** `GET /v1/stats`: the key's tenant's generations (an operator's key: every tenant's, the queue and the workers), and the last hour's throughput and durations. */
    getStats(): Promise<FarmStats>;
  }
}

// Kept in its own file while the dashboard is the only caller; `json` is the client's own
// request path (auth header, problem documents → ChorusApiError).
ChorusClient.prototype.getStats = function getStats(this: ChorusClient): Promise<FarmStats> {
  return this['json']<FarmStats>('GET', '/v1/stats');
};
