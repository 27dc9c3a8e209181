// Child process for the queue crash test: opens the store and queue on <dir>, delivers
// remote mail to MX hosts on <mxPort> found through the DNS server at <dnsAddress>, prints
// "running" once the runner started, and runs until the test kills it.
import { openQueue } from './receiver.js';

const [dir, port, dnsAddress, concurrent] = process.argv.slice(2);
if (!dir || !port || !dnsAddress || !concurrent) {
  throw new Error('usage: queuechild.ts <dir> <mxPort> <dnsAddress> <maxConcurrent>');
}
const { q } = await openQueue(dir, {
  mxPort: Number(port),
  dnsAddress,
  maxConcurrent: Number(concurrent),
});
q.start();
process.stdout.write('running\n');
