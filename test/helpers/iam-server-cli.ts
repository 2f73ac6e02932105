/**
 * The test IAM server as its own process (for the benchmark and the demo, which block their own
 * event loop while timing). Prints `{"url": ...}` on the first line of stdout, then serves until
 * stdin closes or it is signalled. Realms are created and configured over HTTP (see iam-server.ts).
 */
import { startIamServer } from './iam-server.js';

const server = await startIamServer();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
