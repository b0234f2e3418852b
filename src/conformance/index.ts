// `pushwire/conformance`: RFC 6455 conformance testing of a WebSocket echo
// server — Autobahn-numbered cases, random frame streams judged by an
// executable model of §5–§8, shrunk counterexamples, and reports.
//
// Every name is listed (no `export *`), so the entry's surface changes only
// on purpose; test/unit/conformance-model.test.ts checks the list.

// Running the suite.
export { conformance, conformanceClient } from './suite.js';
export type { ConformanceOptions, ClientModeOptions, ConformanceReport, CaseResult, Counterexample } from './suite.js';
export { DONE_CODE, DONE_REASON } from './client-mode.js';

// Reports.
export { formatTerminal, formatJson, formatJUnit, formatHtml } from './report.js';
export type { TerminalOptions } from './report.js';

// The model, for writing your own checks.
export { predict, isValidCloseCode } from './model.js';
export type { ModelOptions, Prediction, Reply, Outcome } from './model.js';
export { RULES } from './rules.js';
export type { Rule, RuleId } from './rules.js';
export type { Verdict, CloseVerdict } from './verdict.js';
export { encodeFrame, frame, Op } from './wire.js';

// pushwire trace: a proxy printing every frame both ways.
export { startTrace, describeWireFrame, CLOSE_CODE_NAMES } from './proxy.js';
export type { TraceOptions, TraceProxy } from './proxy.js';
export type { WireFrame } from './wire.js';
