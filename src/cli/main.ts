#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point of the `tidings` executable. A young generation of 2 x 4 MB (V8's default
// grows it to 2 x 16 MB) keeps the server's memory lower and, with message data
// streaming through, makes the frequent cheap collections free socket buffers before
// their growth forces full ones. `npm run localserve` passes the same flag.
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
