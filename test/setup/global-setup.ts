import type { TestProject } from 'vitest/node';
import { provision, REQUIRED_PACKAGES, startRedis } from './provision.ts';

/**
 * Runs once per `vitest` invocation, before any test file: installs the Debian packages the suite
 * needs (see provision.ts) and starts ONE redis-server for every file that needs it. Tests read its
 * URL with `inject('redisUrl')`; child processes get it from CS_TEST_REDIS_URL.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  provision(REQUIRED_PACKAGES, { log: (l) => process.stderr.write(`[test setup] ${l}\n`) });
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  process.env.CS_TEST_REDIS_URL = redis.url;
  return () => redis.stop();
}
