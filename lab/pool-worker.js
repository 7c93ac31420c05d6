// Worker threads start as plain Node: register tsx here so the TypeScript worker (and any user
// strategy file it loads) compiles the same way in `node bin/cs.js`, under vitest, or as a library.
import { register } from 'tsx/esm/api';

register();
const { default: task } = await import('./pool-worker.ts');
export default task;
