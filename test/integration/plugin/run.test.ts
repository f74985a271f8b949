/**
 * `run()` driven in-process with a fake transport (answers fetch Responses) and a virtual clock: the retry schedule
 * (backoff bounds, Retry-After in both forms, attempt cap, budget) checked exactly, with
 * no real waiting. The process-level behaviour is covered by the other files here.
 */
import { describe, expect, it } from 'vitest';
import type { HttpPost } from '../../../plugin/src/client';
import { run } from '../../../plugin/src/run';
import { request, V1 } from './support/plugin';
import { grant, TOKEN } from './support/servers';

interface Harness {
  code: number;
  stdout: string[];
  stderr: string[];
  sleeps: number[];
  calls: number;
}

type Answer = () => Response | Promise<Response>;

async function drive(answers: Answer[], args: string[] = [], random = 0.5): Promise<Harness> {
  let now = 1_000_000;
  const h: Harness = { code: -1, stdout: [], stderr: [], sleeps: [], calls: 0 };
  const post = (async () => {
    const answer = answers[Math.min(h.calls, answers.length - 1)];
    h.calls++;
    now += 10; // each exchange takes 10 virtual ms
    return answer!();
  }) as unknown as HttpPost;
  h.code = await run({
    stdin: (async function* () {
      yield new TextEncoder().encode(request(V1, { serviceAccountToken: TOKEN }));
    })(),
    stdout: { write: (s: string) => h.stdout.push(s) },
    stderr: { write: (s: string) => h.stderr.push(s) },
    post,
    env: {},
    argv: ['--url', 'https://edge.example.com', ...args],
    clock: {
      now: () => now,
      sleep: async (ms) => {
        h.sleeps.push(ms);
        now += ms;
      },
      random: () => random,
    },
  });
  return h;
}

const ok = () => new Response(JSON.stringify(grant(V1)), { status: 200 });
const unavailable =
  (headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify({ error: 'ERR_STORE_UNAVAILABLE', message: 'down' }), { status: 503, headers });

describe('run() retry schedule', () => {
  it.each([0, 0.5, 0.999])('backs off exponentially with jitter between half and all of each step (random %s)', async (r) => {
    const h = await drive([unavailable(), unavailable(), unavailable(), ok], [], r);
    expect(h.code).toBe(0);
    expect(h.calls).toBe(4);
    const steps = [250, 500, 1000];
    expect(h.sleeps).toHaveLength(3);
    h.sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(steps[i]! / 2);
      expect(ms).toBeLessThanOrEqual(steps[i]!);
    });
    expect(h.stdout).toHaveLength(1); // written once, whole
  });

  it('waits exactly the Retry-After seconds', async () => {
    const h = await drive([unavailable({ 'retry-after': '3' }), ok]);
    expect(h.code).toBe(0);
    expect(h.sleeps).toEqual([3000]);
  });

  it('understands Retry-After as an HTTP date', async () => {
    const at = new Date(1_000_000 + 10 + 4000).toUTCString(); // 4 s after the answer (virtual clock)
    const h = await drive([unavailable({ 'retry-after': at }), ok]);
    expect(h.code).toBe(0);
    expect(h.sleeps).toHaveLength(1);
    // HTTP dates have whole seconds: the wait is within one second of 4 s.
    expect(h.sleeps[0]).toBeGreaterThan(2990);
    expect(h.sleeps[0]).toBeLessThanOrEqual(4000);
  });

  it('stops at --max-attempts', async () => {
    const h = await drive([unavailable()], ['--max-attempts', '2']);
    expect(h.code).toBe(1);
    expect(h.calls).toBe(2);
    expect(h.stdout).toEqual([]);
    expect(h.stderr.join('')).toContain('after 2 attempts');
  });

  it('never sleeps past the budget', async () => {
    const h = await drive([unavailable({ 'retry-after': '2' })], ['--budget', '5s', '--max-attempts', '10']);
    expect(h.code).toBe(1);
    const spent = h.sleeps.reduce((a, b) => a + b, 0) + h.calls * 10;
    expect(spent).toBeLessThanOrEqual(5000);
    expect(h.calls).toBe(3); // 0 s, 2 s, 4 s; a fourth would start after the budget
  });

  it('does not retry a refusal', async () => {
    const h = await drive([() => new Response(JSON.stringify({ error: 'ERR_POLICY_DENIED', message: 'no' }), { status: 403 }), ok]);
    expect(h.code).toBe(1);
    expect(h.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
  });
});
