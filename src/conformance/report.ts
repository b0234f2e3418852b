// Reports of a conformance run: the terminal summary (h2spec's layout — each
// case under its RFC section with a mark and, when not OK, a one-line
// reason), JSON, JUnit XML for CI, and a self-contained HTML page.
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

const HTML_COLOURS: Record<Verdict, string> = { OK: '#1a7f37', 'NON-STRICT': '#9a6700', INFORMATIONAL: '#0969da', FAILED: '#cf222e' };

/**
 * A self-contained HTML report (no scripts, no external files): the summary,
 * then each RFC section's cases in a table — verdict, close behaviour,
 * reason — with the citation, expected/actual and the frame trace folded
 * under each case that is not OK.
 */
export function formatHtml(report: ConformanceReport): string {
  const e = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const s = report.summary;
  const groups = [...GROUPS.map((g) => ({ key: g.key, heading: `§${g.rfc} ${g.title}` })), { key: 'properties', heading: 'Properties: random streams judged by the model of RFC 6455 §5–§8' }];
  const sections = groups.flatMap((group) => {
    const results = report.results.filter((r) => r.group === group.key);
    if (results.length === 0) return [];
    const rows = results.map((r) => {
      const colour = HTML_COLOURS[r.verdict];
      const detail =
        r.verdict === 'OK'
          ? ''
          : `<details><summary>details</summary><p>expected: ${e(r.expected)}<br>actual: ${e(r.actual)}</p>${r.citation ? `<blockquote>${e(r.citation)}</blockquote>` : ''}${r.notes.length > 0 ? `<ul>${r.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>` : ''}${r.trace ? `<pre>${e(r.trace.join('\n'))}</pre>` : ''}</details>`;
      return (
        `<tr id="${e(r.id)}"><td><a href="#${e(r.id)}">${e(r.id)}</a></td><td>${e(r.title)}${r.origin === 'pushwire' && r.kind === 'case' ? ' <small>(pushwire)</small>' : ''}</td>` +
        `<td style="color:${colour};font-weight:bold">${r.verdict}</td><td>${e(r.closeBehavior)}</td><td>${r.durationMs} ms</td>` +
        `<td>${r.verdict === 'OK' ? '' : e(r.reason)}${detail}</td></tr>`
      );
    });
    return [`<h2>${e(group.heading)} <small>[${tally(results)}]</small></h2>`, '<table><tr><th>case</th><th>what</th><th>verdict</th><th>close</th><th>time</th><th>why</th></tr>', ...rows, '</table>'];
  });
  const who = report.peer === 'client' ? `the client that connected to ${report.url}` : report.url;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RFC 6455 conformance: ${e(who)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}blockquote{color:#555;margin:4px 0 4px 1em}</style>
</head><body>
<h1>RFC 6455 conformance of ${e(who)}</h1>
<p>${report.peer} role, echo; seed ${report.seed}; started ${e(report.startedAt)}; ${(report.durationMs / 1000).toFixed(1)} s</p>
<p><b>${s.total} tests:</b> <span style="color:${HTML_COLOURS.OK}">${s.OK} OK</span>, <span style="color:${HTML_COLOURS['NON-STRICT']}">${s['NON-STRICT']} NON-STRICT</span>, <span style="color:${HTML_COLOURS.INFORMATIONAL}">${s.INFORMATIONAL} INFORMATIONAL</span>, <span style="color:${HTML_COLOURS.FAILED}">${s.FAILED} FAILED</span></p>
${sections.join('\n')}
</body></html>
`;
}
