// The page's CSP (script-src 'self') forbids eval, so zod's compiled parsers
// cannot run in the browser anyway. jitless also skips zod's `new Function`
// probe, which Firefox reports as a CSP violation (a page error) on every page
// load although zod catches it. zod takes the decision when a schema is built,
// so main.ts imports this module before any module that defines schemas.
import { config } from 'zod';

config({ jitless: true });
