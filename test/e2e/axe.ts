// axe-core (the npm package) run inside real pages of the app. The page's CSP
// allows only its own scripts, so axe's source is evaluated through the
// automation protocol rather than added as a <script>.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** CSS selectors of the offending nodes, with axe's summary of what is wrong with each. */
  nodes: { target: string; summary: string }[];
}

/** Every axe-core violation on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
    const results = await axe.run(document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
    }));
  });
}

/** One line per violation and node, for a failure message a person can act on. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => `${v.impact ?? '?'} ${v.id} (${v.help}):\n${v.nodes.map((n) => `    ${n.target} — ${n.summary.replace(/\s+/g, ' ')}`).join('\n')}`)
    .join('\n');
}

/** Zero serious or critical violations on the page now; `where` names the page state in the failure. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const grave = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(grave, `axe-core on ${where}:\n${describeViolations(grave)}`).toEqual([]);
}
