// Where the e2e suite saves its screenshots: test-results/screenshots (ignored
// by git), so a test run leaves the checkout as it found it; with
// UPDATE_SCREENSHOTS=1, docs/screenshots, the pictures the README shows.
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIR = path.join(ROOT, process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/screenshots');

export function screenshotPath(name: string): string {
  mkdirSync(DIR, { recursive: true });
  return path.join(DIR, name);
}
