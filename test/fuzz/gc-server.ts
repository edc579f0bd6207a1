// The real server entry, plus one test-only hook: SIGUSR2 collects garbage
// (node runs with --expose-gc), so the fuzzer can compare the heap before and
// after a campaign without V8's lazy collection blurring the numbers.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) process.on('SIGUSR2', () => gc());
await import('../../src/server/main.js');
