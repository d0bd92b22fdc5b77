// Does one busy, healthy endpoint get capped by its circuit breaker? Sends the same number of
// events to one endpoint and spread over ten, on the real embedded stack, and prints deliveries
// per second for both plus how many breaker workflows exist. Run: npx tsx bench/hot-endpoint.ts [events]
import { WorkflowNotFoundError } from '@temporalio/client';
import { startReceiver } from '../test/helpers/receiver.js';
import { api, startStack } from '../test/helpers/stack.js';

const events = Number(process.argv[2] ?? 300);
const stack = await startStack();
const receiver = await startReceiver();

async function endpoint(name: string): Promise<string> {
  const r = await api(stack, 'POST', '/api/endpoints', {
    name,
    url: `${receiver.url}/${name}`,
    events: [`${name}.*`],
  });
  return r.body.id as string;
}

async function run(label: string, names: string[]): Promise<number> {
  const before = receiver.received.length;
  const started = performance.now();
  for (let i = 0; i < events; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, events - i) }, (_, j) =>
        api(stack, 'POST', '/api/events', {
          type: `${names[(i + j) % names.length]}.x`,
          payload: { i: i + j },
        }),
      ),
    );
  }
  await receiver.waitFor(before + events, { timeoutMs: 600_000 });
  const seconds = (performance.now() - started) / 1000;
  const rate = events / seconds;
  console.log(`${label.padEnd(28)} ${events} deliveries in ${seconds.toFixed(1)} s = ${rate.toFixed(1)}/s`);
  return rate;
}

try {
  const hot = await endpoint('hot');
  const spread = await Promise.all(Array.from({ length: 10 }, (_, i) => endpoint(`spread${i}`)));
  await run(
    'warm-up (spread)',
    spread.map((_, i) => `spread${i}`),
  );
  const hotRate = await run('one hot endpoint', ['hot']);
  const spreadRate = await run(
    'spread over 10 endpoints',
    spread.map((_, i) => `spread${i}`),
  );
  let breakers = 0;
  for (const id of [hot, ...spread]) {
    await stack.platform.temporal.workflow
      .getHandle(`endpoint:${id}`)
      .describe()
      .then(
        () => breakers++,
        (err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        },
      );
  }
  console.log(`hot / spread = ${(hotRate / spreadRate).toFixed(2)}; breaker workflows started: ${breakers}`);
} finally {
  await stack.stop();
  await receiver.close();
}
