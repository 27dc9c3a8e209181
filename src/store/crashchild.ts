// Child process for the crash test: delivers messages and reports each acknowledged UID
// on stdout; it is killed (or kills itself) at some point mid-delivery.
import { Store } from './store.js';
import { sampleMessage } from './testutil.js';

const [dataDir, mode] = process.argv.slice(2) as [string, string];
let n = 0;
const store = await Store.open({
  dataDir,
  beforeCommit: () => {
    n++;
    if (mode === 'kill-before-commit' && n === 4) process.kill(process.pid, 'SIGKILL');
  },
});
const a = await store.account('crash');
// "concurrent" runs four delivery loops at once, so adds are stored in groups.
const loops = mode === 'concurrent' ? 4 : 1;
let next = 0;
let ready = false;
async function loop(): Promise<never> {
  for (;;) {
    const i = next++;
    const p = await store.prepareMessage(sampleMessage(i, `X-Pad: ${'x'.repeat(i % 5000)}\r\n`));
    const r = await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
    process.stdout.write(`ok ${r.messages[0]!.uid}\n`);
    if (!ready) {
      ready = true;
      process.stdout.write('ready\n');
    }
  }
}
await Promise.all(Array.from({ length: loops }, () => loop()));
