import { inject, describe, expect, it } from 'vitest';
import { installCommand, isInstalled, ping, provision, REQUIRED_PACKAGES } from './provision.ts';

const FAKE = { name: 'cs-no-such-package-4f2a', why: 'a package that does not exist' };

describe('provision', () => {
  it('asks dpkg: a real package is installed, a made-up one is not', () => {
    expect(isInstalled('dpkg')).toBe(true);
    expect(isInstalled(FAKE.name)).toBe(false);
  });

  it('lists redis-server among the packages the suite needs', () => {
    expect(REQUIRED_PACKAGES.map((p) => p.name)).toContain('redis-server');
  });

  it('not root and something missing: fails with the exact command to run', () => {
    expect(() => provision([FAKE], { isRoot: false, run: () => expect.unreachable('must not run apt-get') })).toThrow(
      `sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${FAKE.name}`,
    );
  });

  it('root and something missing: apt-get update once, then install without recommends; still missing → error', () => {
    const calls: string[] = [];
    expect(() => provision([FAKE, { name: 'dpkg', why: 'present' }], { isRoot: true, run: (c, a) => calls.push([c, ...a].join(' ')) })).toThrow(/still not installed/);
    expect(calls).toEqual(['apt-get update', `apt-get install -y --no-install-recommends ${FAKE.name}`]);
  });

  it('nothing missing: runs nothing', () => {
    expect(provision([{ name: 'dpkg', why: 'present' }], { isRoot: false, run: () => expect.unreachable() })).toEqual([]);
  });

  it('a root install that works is reported', () => {
    const have = new Set<string>();
    const got = provision([FAKE], { isRoot: true, isInstalled: (n) => have.has(n), run: (_c, a) => a[0] === 'install' && a.slice(3).forEach((n) => have.add(n)) });
    expect(got).toEqual([FAKE.name]);
  });

  it('installCommand is the documented apt-get line', () => {
    expect(installCommand(['a', 'b'])).toBe('apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends a b');
  });

  it('the global setup started a redis-server that answers PING on loopback', async () => {
    const url = inject('redisUrl');
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await ping(Number(new URL(url).port))).toBe(true);
  });
});
