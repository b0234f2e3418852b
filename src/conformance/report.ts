// Reports of a conformance run: the terminal summary (h2spec's layout — each
// case under its RFC section with a mark and, when not OK, a one-line
// reason), JSON, and JUnit XML for CI.
import { GROUPS } from './cases.js';
import type { CaseResult, ConformanceReport } from './suite.js';
import type { Verdict } from './verdict.js';

/** The mark of each verdict in the terminal summary. */
export const MARKS: Record<Verdict, string> = { OK: '✔', 'NON-STRICT': '~', INFORMATIONAL: 'i', FAILED: '×' };

/** What the terminal summary shows. */
export interface TerminalOptions {
  /** Only cases that are not OK, and the summary line. */
  quiet?: boolean;
  /** Traces for NON-STRICT cases too (FAILED ones always get theirs). */
  verbose?: boolean;
}

/**
 * The terminal summary: cases grouped by RFC section with ✔ / ~ / i / ×,
 * a reason under each case that is not OK, the counterexample of a
 * failing property, and a summary line.
 */
export function formatTerminal(report: ConformanceReport, options: TerminalOptions = {}): string {
  const who = report.peer === 'client' ? `the client that connected to ${report.url} (client role, echo` : `${report.url} (server role, echo`;
  const out: string[] = [`RFC 6455 conformance of ${who}; seed ${report.seed})`, ''];
  const groups = [...GROUPS.map((g) => ({ key: g.key, heading: `§${g.rfc} ${g.title}` })), { key: 'properties', heading: 'Properties: random streams judged by the model of RFC 6455 §5–§8' }];
  for (const group of groups) {
    const results = report.results.filter((r) => r.group === group.key);
    if (results.length === 0) continue;
    const shown = options.quiet ? results.filter((r) => r.verdict !== 'OK') : results;
    const counts = tally(results);
    if (options.quiet && shown.length === 0) continue;
    out.push(`  ${group.heading}  [${counts}]`);
    for (const r of shown) {
      const label = r.kind === 'property' ? `${r.id} (${r.runs} runs)` : r.id;
      const own = r.origin === 'pushwire' && r.kind === 'case' ? ' (pushwire)' : '';
      const timing = r.group === 'performance' ? ` — ${r.durationMs} ms` : '';
      out.push(`    ${MARKS[r.verdict]} ${label} ${r.title}${own}${r.verdict === 'OK' ? '' : `  ${r.verdict}`}${timing}`);
      if (r.verdict !== 'OK') {
        out.push(`        → ${r.reason}`);
        if (r.verdict === 'FAILED') {
          out.push(`          expected: ${r.expected}`);
          out.push(`            actual: ${r.actual}`);
          if (r.citation) out.push(`          ${r.citation}`);
        }
        if (r.trace && (r.verdict === 'FAILED' || options.verbose)) for (const line of r.trace) out.push(`          ${line}`);
      }
    }
    out.push('');
  }
  const s = report.summary;
  out.push(
    `${s.total} tests: ${s.OK} OK, ${s['NON-STRICT']} NON-STRICT, ${s.INFORMATIONAL} INFORMATIONAL, ${s.FAILED} FAILED — ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${out.join('\n')}\n`;
}

function tally(results: readonly CaseResult[]): string {
  const counts: Record<Verdict, number> = { OK: 0, 'NON-STRICT': 0, INFORMATIONAL: 0, FAILED: 0 };
  for (const r of results) counts[r.verdict]++;
  return (Object.keys(counts) as Verdict[])
    .filter((v) => counts[v] > 0)
    .map((v) => `${counts[v]} ${v}`)
    .join(', ');
}

/** The report as JSON (stable field order, two-space indent). */
export function formatJson(report: ConformanceReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * JUnit XML: one testsuite per RFC section group, one testcase per case or
 * property; FAILED is a <failure>, the verdict and reason of the others go
 * to <system-out>.
 */
export function formatJUnit(report: ConformanceReport): string {
  const groups = [...GROUPS.map((g) => ({ key: g.key, name: `RFC 6455 §${g.rfc} ${g.title}` })), { key: 'properties', name: 'Properties' }];
  const suites: string[] = [];
  for (const group of groups) {
    const results = report.results.filter((r) => r.group === group.key);
    if (results.length === 0) continue;
    const failures = results.filter((r) => r.verdict === 'FAILED').length;
    const time = results.reduce((sum, r) => sum + r.durationMs, 0) / 1000;
    const cases = results.map((r) => {
      const name = xml(`${r.id} ${r.title}`);
      const head = `    <testcase classname="${xml(group.name)}" name="${name}" time="${(r.durationMs / 1000).toFixed(3)}">`;
      const body: string[] = [];
      const detail = [`expected: ${r.expected}`, `actual: ${r.actual}`, ...(r.citation ? [r.citation] : []), ...r.notes, ...(r.trace ?? [])].join('\n');
      if (r.verdict === 'FAILED') body.push(`      <failure message="${xml(r.reason)}" type="${xml(r.rule ?? 'FAILED')}">${xml(detail)}</failure>`);
      else body.push(`      <system-out>${xml(`${r.verdict}: ${r.reason}${r.verdict === 'OK' ? '' : `\n${detail}`}`)}</system-out>`);
      return [head, ...body, '    </testcase>'].join('\n');
    });
    suites.push(
      `  <testsuite name="${xml(group.name)}" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  const s = report.summary;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${xml(`pushwire conformance ${report.url}`)}" tests="${s.total}" failures="${s.FAILED}" time="${(report.durationMs / 1000).toFixed(3)}">\n` +
    `${suites.join('\n')}\n</testsuites>\n`
  );
}
