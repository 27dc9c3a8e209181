// `npm run bench`: runs every benchmark and prints its figures.
import { benchStore } from './store.js';
import { benchImap } from './imap.js';
import { benchSmtp } from './smtp.js';
import { benchQueue } from './queue.js';

await benchStore();
await benchImap();
await benchSmtp();
await benchQueue();
