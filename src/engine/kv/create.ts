// Makes the cache object for a plan (the one place that knows every implementation).
import { ModelConfig } from '../model/config';
import { FullKVCache } from './full';
import { KVPlan, planDtype } from './plan';
import { PodKVCache } from './pod';
import { StreamingKVCache } from './streaming';
import { KVCache } from './types';

export function createCache(c: ModelConfig, plan: KVPlan, maxTokens: number): KVCache {
  switch (plan.kind) {
    case 'full':
      return new FullKVCache(c, maxTokens, planDtype(plan));
    case 'pod':
      return new PodKVCache(c, plan, maxTokens);
    case 'streaming':
      return new StreamingKVCache(c, plan, maxTokens);
  }
}
