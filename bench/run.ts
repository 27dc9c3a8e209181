// `npm run bench`: runs every benchmark and prints its figures.
import { benchStore } from './store.js';

await benchStore();
