// Running the suite: pick the cases and properties asked for, run each over
// its own connection (a few at a time against a server, one at a time when
// a client under test comes to the tool), judge it, shrink what a property
// breaks, and collect per-case results. The library entry points
// `conformance()` and `conformanceClient()` and the CLI command end here.
import { CASES, compareIds, GROUPS, type CaseDef } from './cases.js';
import { PROPERTIES, streamBytes, streamLength, type Generated, type PropertyDef } from './properties.js';
import { deriveSeed, Random } from './random.js';
import { cite, type RuleId } from './rules.js';
import { ClientSession } from './client-mode.js';
import { dialer, parseTarget, runScenario, type Connector, type Observation, type RunOptions, type Scenario } from './runner.js';
import { shrink } from './shrink.js';
import { clientTrace, serverTrace } from './trace.js';
import { judge, type CloseVerdict, type Judgement, type Verdict } from './verdict.js';
import { predict } from './model.js';
import { DEFAULT_MASK, frame, Op, type WireFrame } from './wire.js';
import { compressedFrames, offersClientNoContextTakeover, type Negotiated, type PlainMessage } from './deflate.js';

/** Options of a conformance run (the CLI's flags, as an object). */
export interface ConformanceOptions {
  /** The echo server under test: `ws://host:port/path` or `wss://…`. */
  url: string;
  /**
   * Cases to run: ids or prefixes (`6`, `6.4`, `6.4.1`, `prop`,
   * `prop.invalid-utf8`, `prop.invalid-utf8.17`). Default: all but section 9.
   */
  cases?: string[];
  /** Include Autobahn section 9 (large messages, performance). Default false. */
  performance?: boolean;
  /** Random streams per property; 0 runs none. Default 100. */
  runs?: number;
  /** Seed of masks, nonces and random streams. Default 6455. */
  seed?: number;
  /**
   * The server's largest message in bytes, if known: bigger ones must fail
   * with 1009, and the limit cases and property run. Default unknown.
   */
  maxMessage?: number;
  /** Longest wait for the server's reaction to one case (ms). Default 3000. */
  timeoutMs?: number;
  /** Longest wait for TCP to close after a closing handshake (ms). Default 2000. */
  closeTimeoutMs?: number;
  /** The pause of the fail-fast cases inside one frame (6.4.3, 6.4.4), cut short when the server closes (ms). Default 1000, as Autobahn. */
  pauseMs?: number;
  /** Connections at a time. Default 4. */
  concurrency?: number;
  /** Shrink failing property runs. Default true. */
  shrink?: boolean;
  /** Shrink budget per failure: candidate runs and ms. Default 300 runs, 30 s. */
  shrinkRuns?: number;
  shrinkMs?: number;
  /** wss://: accept a self-signed certificate. */
  insecure?: boolean;
  /** Called as each result is known (in completion order). */
  onResult?: (result: CaseResult) => void;
}

/** A minimal failing stream found for a property. */
export interface Counterexample {
  seed: number;
  /** The property run that failed first (before shrinking). */
  run: number;
  /** `pushwire conformance URL --seed N --case prop.NAME.RUN` */
  replay: string;
  /** The shrunk stream as it went on the wire (hex), without the tool's final ping. */
  hex: string;
  bytes: number;
  /** Bytes before shrinking. */
  originalBytes: number;
  shrinkRuns: number;
  shrinkSteps: number;
}

/** The result of one case or one property. */
export interface CaseResult {
  /** `1.1.1`, or `prop.invalid-utf8` for a property. */
  id: string;
  kind: 'case' | 'property';
  title: string;
  /** Group key (see GROUPS) or `properties`. */
  group: string;
  /** RFC 6455 section the case is filed under. */
  rfc: string;
  origin: 'autobahn' | 'pushwire';
  verdict: Verdict;
  behavior: Verdict;
  closeBehavior: CloseVerdict;
  /** One line. */
  reason: string;
  rule?: RuleId;
  /** The rule as a citation: section and sentence. */
  citation?: string;
  expected: string;
  actual: string;
  notes: string[];
  durationMs: number;
  /** For FAILED (and NON-STRICT) cases: the annotated frame trace. */
  trace?: string[];
  /** Properties: random streams run. */
  runs?: number;
  counterexample?: Counterexample;
}

/** The whole run. */
export interface ConformanceReport {
  /** `server`: a server was tested at `url`; `client`: a client connected to the tool at `url`. */
  peer: 'server' | 'client';
  url: string;
  seed: number;
  startedAt: string;
  durationMs: number;
  results: CaseResult[];
  summary: Record<Verdict, number> & { total: number };
  /** Any FAILED: the CLI exits 1. */
  failed: boolean;
}

const SENTINEL = Buffer.from('pushwire:sentinel');

/**
 * Options of client mode: the tool listens and the client under test
 * connects, once per case, echoing every message, until a connection is
 * closed with 4000 and the reason `DONE_REASON`. Permessage-deflate is not offered to it (sections 12–13
 * do not run).
 */
export interface ClientModeOptions extends Omit<ConformanceOptions, 'url' | 'insecure' | 'concurrency'> {
  /** Port to listen on (0: a free one; see `onListening`). Default 9001. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Longest wait for the client's next connection (ms). Default 30 000. */
  waitMs?: number;
  /** Called with the URL the client should connect to, once listening. */
  onListening?: (url: string) => void;
}

interface Resolved {
  connector: Connector;
  /** The server's URL, or where the tool waits for the client. */
  url: string;
  /** The command line that reruns this setup (before --seed/--case). */
  command: string;
  seed: number;
  maxMessage?: number;
  run: RunOptions & { timeoutMs: number };
  runs: number;
  concurrency: number;
  shrink: boolean;
  shrinkRuns: number;
  shrinkMs: number;
}

function resolve(options: Omit<ConformanceOptions, 'url'>, connector: Connector, url: string, command: string): Resolved {
  return {
    connector,
    url,
    command,
    seed: options.seed ?? 6455,
    maxMessage: options.maxMessage,
    run: {
      timeoutMs: options.timeoutMs ?? 3000,
      closeTimeoutMs: options.closeTimeoutMs ?? 2000,
      pauseMs: options.pauseMs ?? 1000,
      randomBytes: () => new Uint8Array(0), // replaced per case
    },
    runs: options.runs ?? 100,
    concurrency: Math.max(1, options.concurrency ?? 4),
    shrink: options.shrink ?? true,
    shrinkRuns: options.shrinkRuns ?? 300,
    shrinkMs: options.shrinkMs ?? 30_000,
  };
}

/** Does `id` fall under one of the selectors (a selector matches itself and everything below it)? */
export function selected(id: string, selectors: readonly string[] | undefined): boolean {
  if (!selectors || selectors.length === 0) return true;
  return selectors.some((s) => id === s || id.startsWith(`${s}.`));
}

/**
 * Give every default-masked frame a key drawn from `rng` (Autobahn draws one
 * per frame too). For a client under test the tool speaks as the server,
 * so masks turn around (§5.1): a frame a case sends unmasked (to test the
 * server's check) goes masked (to test the client's), the others unmasked.
 */
function remask(frames: readonly WireFrame[], rng: Random, peer: 'server' | 'client'): WireFrame[] {
  if (peer === 'client') return frames.map((f) => ({ ...f, mask: f.mask === null ? rng.bytes(4) : null }));
  return frames.map((f) => (f.mask === DEFAULT_MASK ? { ...f, mask: rng.bytes(4) } : f));
}

/** Append the sentinel ping unless the stream ends inside a frame. */
function withSentinel(frames: WireFrame[]): { frames: WireFrame[]; sentinel?: Buffer } {
  const last = frames[frames.length - 1];
  if (last && last.declaredLength !== undefined && last.declaredLength !== BigInt(last.payload.length)) return { frames };
  return { frames: [...frames, frame(Op.Ping, SENTINEL)], sentinel: SENTINEL };
}

/** Run one stream and judge it. */
/** Frames, or (for a compressed case) how to make them once the handshake has said what was agreed. */
type Frames = WireFrame[] | ((negotiated: Negotiated) => WireFrame[]);

/** A compressed stream's frames for what was agreed: context takeover unless ruled out (RFC 7692 §7.1.1.2). */
function deflating(offer: string, messages: PlainMessage[], fragment?: number, pingsAfter: number[] = []): Frames {
  return (negotiated) =>
    compressedFrames(messages, !negotiated.clientNoContextTakeover && !offersClientNoContextTakeover(offer), fragment, (i) =>
      pingsAfter.includes(i) ? [frame(Op.Ping, `after message ${i + 1}`)] : [],
    );
}

async function runOne(
  r: Resolved,
  label: string,
  frames: Frames,
  scenario: Omit<Scenario, 'frames' | 'sentinel' | 'choose'>,
  judgeOptions: { informational?: boolean; failFastBy?: number },
): Promise<{ judgement: Judgement; detail: { frames: WireFrame[]; obs: Observation } }> {
  const rng = new Random(deriveSeed(r.seed, label));
  const peer = r.connector.peer;
  let run: Scenario;
  if (typeof frames === 'function') {
    const make = frames;
    run = { ...scenario, frames: [], sentinel: SENTINEL, choose: (negotiated) => (negotiated === null ? null : remask(withSentinel(make(negotiated)).frames, rng, peer)) };
  } else {
    const { frames: unmasked, sentinel } = withSentinel(frames);
    run = { ...scenario, frames: remask(unmasked, rng, peer), sentinel };
  }
  run.expectMessages = (sent, negotiated) =>
    predict(sent, { maxMessage: r.maxMessage, deflate: negotiated !== null, peer }).replies.filter((reply) => reply.kind === 'message').length;
  const obs = await runScenario(r.connector, run, { ...r.run, randomBytes: (n) => rng.bytes(n) });
  const judgement = judge(obs.frames, obs, {
    ...judgeOptions,
    maxMessage: r.maxMessage,
    timeoutMs: r.run.timeoutMs,
    closeTimeoutMs: r.run.closeTimeoutMs,
  });
  return { judgement, detail: { frames: obs.frames, obs } };
}

/** The model's options for tracing a run: the declared limit, and whether deflate was agreed. */
function modelOf(r: Resolved, obs: Observation): { maxMessage?: number; deflate: boolean; peer: 'server' | 'client' } {
  return { maxMessage: r.maxMessage, deflate: obs.handshake.ok && obs.handshake.deflate !== null, peer: obs.peer };
}

/** Headings of a trace's two halves. */
function sides(r: Resolved): [string, string] {
  return r.connector.peer === 'server' ? ['tool (client) →', 'server ←'] : ['tool (server) →', 'client ←'];
}

function cutsOf(chunks: Scenario['chunks']): number[] {
  return Array.isArray(chunks) ? chunks : [];
}

async function runCase(r: Resolved, c: CaseDef): Promise<CaseResult> {
  const started = performance.now();
  const built = c.build({ maxMessage: r.maxMessage });
  const frames = built.deflate ? deflating(built.offer ?? 'permessage-deflate', built.deflate.messages, built.deflate.fragment) : built.frames;
  const { judgement, detail } = await runOne(r, c.id, frames, { chunks: built.chunks, pauses: built.pauses, offer: built.offer }, built);
  const group = GROUPS.find((g) => g.key === c.group)!;
  const result: CaseResult = {
    id: c.id,
    kind: 'case',
    title: c.title,
    group: c.group,
    rfc: group.rfc,
    origin: c.origin,
    ...fromJudgement(judgement),
    durationMs: Math.round(performance.now() - started),
  };
  if (judgement.verdict === 'FAILED' || judgement.verdict === 'NON-STRICT') {
    const chunks = built.chunks === 'octets' ? ['(written one byte at a time)'] : built.chunks === 'whole' ? ['(written in one piece)'] : [];
    const [ours, theirs] = sides(r);
    result.trace = [
      ours,
      ...chunks,
      ...clientTrace(detail.frames, cutsOf(built.chunks), modelOf(r, detail.obs), judgement),
      theirs,
      ...serverTrace(detail.obs),
    ];
  }
  return result;
}

function fromJudgement(j: Judgement): Pick<CaseResult, 'verdict' | 'behavior' | 'closeBehavior' | 'reason' | 'rule' | 'citation' | 'expected' | 'actual' | 'notes'> {
  return {
    verdict: j.verdict,
    behavior: j.behavior,
    closeBehavior: j.closeBehavior,
    reason: j.reason,
    rule: j.rule,
    citation: j.rule ? cite(j.rule, 400) : undefined,
    expected: j.expected,
    actual: j.actual,
    notes: j.notes,
  };
}

/** The generated stream of run `n` of a property (deterministic in seed, name, n). */
export function generateRun(p: PropertyDef, seed: number, n: number, maxMessage?: number): Generated {
  return p.generate(new Random(deriveSeed(seed, `prop.${p.name}.${n}`)), { maxMessage });
}

async function runProperty(r: Resolved, p: PropertyDef, only: number | undefined, pool: Pool): Promise<CaseResult> {
  const started = performance.now();
  const indices = only === undefined ? Array.from({ length: r.runs }, (_, i) => i + 1) : [only];
  const check = (g: Generated, n: number) =>
    runOne(
      r,
      `prop.${p.name}.${n}`,
      g.deflate ? deflating(g.deflate.offer, g.deflate.messages, g.deflate.fragment, g.deflate.pingsAfter) : g.frames,
      { chunks: g.cuts.length > 0 ? g.cuts : 'frames', offer: g.deflate?.offer },
      {},
    );
  let firstFailure: { n: number; g: Generated; result: Awaited<ReturnType<typeof check>> } | null = null;
  let lax = 0;
  let laxExample: Judgement | null = null;
  let done = 0;
  await pool.map(indices, async (n) => {
    if (firstFailure && n > firstFailure.n) return;
    const g = generateRun(p, r.seed, n, r.maxMessage);
    const result = await check(g, n);
    done++;
    if (result.judgement.verdict === 'FAILED') {
      if (!firstFailure || n < firstFailure.n) firstFailure = { n, g, result };
    } else if (result.judgement.verdict === 'NON-STRICT') {
      lax++;
      laxExample ??= result.judgement;
    }
  });
  const base = {
    id: `prop.${p.name}`,
    kind: 'property' as const,
    title: p.title,
    group: 'properties',
    rfc: p.rfc,
    origin: 'pushwire' as const,
    runs: done,
  };
  const failure = firstFailure as { n: number; g: Generated; result: Awaited<ReturnType<typeof check>> } | null;
  if (!failure) {
    const verdict: Verdict = lax > 0 ? 'NON-STRICT' : 'OK';
    const example = laxExample as Judgement | null;
    return {
      ...base,
      verdict,
      behavior: verdict,
      closeBehavior: 'OK',
      reason: lax > 0 ? `${lax} of ${done} runs NON-STRICT: ${example!.reason}` : `${done} random stream${done === 1 ? '' : 's'}, all as the model predicts`,
      rule: example?.rule,
      citation: example?.rule ? cite(example.rule, 400) : undefined,
      expected: 'as the model predicts for each stream',
      actual: lax > 0 ? `${done - lax} OK, ${lax} NON-STRICT` : `${done} OK`,
      notes: [],
      durationMs: Math.round(performance.now() - started),
    };
  }
  const shrunk = r.shrink
    ? await shrink(failure.g, failure.result, (g) => check(g, failure.n), { maxRuns: r.shrinkRuns, maxMs: r.shrinkMs })
    : { generated: failure.g, judgement: failure.result.judgement, detail: failure.result.detail, runs: 0, steps: 0 };
  const frames = shrunk.detail.frames;
  const sent = frames[frames.length - 1]?.opcode === Op.Ping && Buffer.from(frames[frames.length - 1].payload).equals(SENTINEL) ? frames.slice(0, -1) : frames;
  const replay = `${r.command} --seed ${r.seed} --case prop.${p.name}.${failure.n}${r.maxMessage !== undefined ? ` --max-message ${r.maxMessage}` : ''}`;
  const [ours, theirs] = sides(r);
  const bytes = streamBytes(sent);
  return {
    ...base,
    ...fromJudgement(shrunk.judgement),
    reason: `run ${failure.n}: ${shrunk.judgement.reason}`,
    durationMs: Math.round(performance.now() - started),
    trace: [
      `counterexample: ${bytes.length} bytes (shrunk from ${streamLength(failure.result.detail.frames)} in ${shrunk.runs} runs, ${shrunk.steps} steps), seed ${r.seed}, run ${failure.n}`,
      ours,
      ...(shrunk.generated.deflate ? [`offer: Sec-WebSocket-Extensions: ${shrunk.generated.deflate.offer}; agreed: ${shrunk.detail.obs.handshake.ok ? shrunk.detail.obs.handshake.extensions : '-'}`] : []),
      ...clientTrace(frames, shrunk.generated.cuts, modelOf(r, shrunk.detail.obs), shrunk.judgement),
      theirs,
      ...serverTrace(shrunk.detail.obs),
      `replay: ${replay}`,
    ],
    counterexample: {
      seed: r.seed,
      run: failure.n,
      replay,
      hex: bytes.toString('hex'),
      bytes: bytes.length,
      originalBytes: streamLength(failure.result.detail.frames),
      shrinkRuns: shrunk.runs,
      shrinkSteps: shrunk.steps,
    },
  };
}

/** At most `limit` tasks at a time. */
class Pool {
  constructor(private readonly limit: number) {}

  async map<T>(items: readonly T[], task: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) await task(items[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(this.limit, items.length) }, worker));
  }
}

/**
 * Run the server suite against the echo server at `options.url` and return
 * every case's result. Never throws for a misbehaving server (that is a
 * FAILED result); throws only for a bad URL or options.
 *
 * @example
 * const report = await conformance({ url: 'ws://127.0.0.1:9001/' });
 * if (report.failed) console.log(report.results.filter((r) => r.verdict === 'FAILED'));
 */
export async function conformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const connector = dialer(parseTarget(options.url, options.insecure));
  return runSuite(resolve(options, connector, options.url, `pushwire conformance ${options.url}`), options);
}

/**
 * Client mode: listen (on `options.port`, 9001 by default), let the client
 * under test connect once per case and echo, and return every case's
 * result; at the end the client is told so (close 4000, `DONE_REASON`). Rejects
 * only when the port cannot be listened on.
 *
 * @example
 * const report = await conformanceClient({ port: 0, onListening: (url) => startMyClientHarness(url) });
 */
export async function conformanceClient(options: ClientModeOptions): Promise<ConformanceReport> {
  const session = await ClientSession.listen(options.port ?? 9001, options.host ?? '127.0.0.1', options.waitMs);
  const port = Number(new URL(session.url).port);
  options.onListening?.(session.url);
  try {
    return await runSuite(
      resolve({ ...options, concurrency: 1 }, session.connector(), session.url, `pushwire conformance --client --port ${port}`),
      options,
    );
  } finally {
    await session.finish();
  }
}

async function runSuite(r: Resolved, options: Omit<ConformanceOptions, 'url'>): Promise<ConformanceReport> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const selectors = options.cases;
  const pool = new Pool(r.concurrency);
  const cases = CASES.filter(
    (c) =>
      (!c.performance || options.performance || (selectors?.some((s) => s === '9' || s.startsWith('9.')) ?? false)) &&
      (!c.needsMaxMessage || r.maxMessage !== undefined) &&
      selected(c.id, selectors),
  );
  const results: CaseResult[] = [];
  const record = (result: CaseResult): void => {
    results.push(result);
    options.onResult?.(result);
  };
  // One handshake first: a peer that cannot be reached, or does not speak
  // WebSocket there, is one FAILED result, not three hundred.
  const preflight = await runOne(r, 'handshake', [], { chunks: 'whole' }, {});
  // (A peer that does not even answer a ping is reported here too: every case would time out.)
  if (!preflight.detail.obs.handshake.ok || preflight.detail.obs.timedOut === 'reaction') {
    record({
      id: '0.1',
      kind: 'case',
      title: 'opening handshake, a ping, closing handshake',
      group: 'handshake',
      rfc: '4.1',
      origin: 'pushwire',
      ...fromJudgement(preflight.judgement),
      durationMs: preflight.detail.obs.durationMs,
    });
    return finish(r, startedAt, started, results);
  }
  // permessage-deflate: one handshake with the plain offer decides whether
  // Autobahn 12/13 and the deflate properties run (declining is allowed).
  const properties = PROPERTIES.filter((p) => !p.needsMaxMessage || r.maxMessage !== undefined);
  const propertySelected = (p: PropertyDef): boolean =>
    selected(`prop.${p.name}`, selectors) || (selectors?.some((s) => s.startsWith(`prop.${p.name}.`)) ?? false);
  let deflate = false;
  // (A client under test is not offered it: the tool, as its server, accepts no extension.)
  const clientMode = r.connector.peer === 'client';
  if (!clientMode && (cases.some((c) => c.needsDeflate) || properties.some((p) => p.needsDeflate && propertySelected(p)))) {
    const probe = await runOne(r, 'handshake-deflate', () => [], { chunks: 'whole', offer: 'permessage-deflate' }, {});
    const handshake = probe.detail.obs.handshake;
    deflate = handshake.ok && handshake.deflate !== null;
    if (!deflate) {
      const declined = handshake.ok;
      record({
        id: '12.0',
        kind: 'case',
        title: 'permessage-deflate offered',
        group: 'deflate-payloads',
        rfc: '7692 §7.1',
        origin: 'pushwire',
        ...fromJudgement(probe.judgement),
        reason: declined ? 'declined by the server (allowed): the compression cases and properties were not run' : probe.judgement.reason,
        durationMs: probe.detail.obs.durationMs,
      });
    }
  }
  const runnable = cases.filter((c) => !c.needsDeflate || deflate);
  // The large cases of section 9 run one at a time: their timings mean something then.
  const [heavy, light] = [runnable.filter((c) => c.performance), runnable.filter((c) => !c.performance)];
  await pool.map(light, async (c) => record(await runCase(r, c)));
  for (const c of heavy) record(await runCase(r, c));
  for (const p of properties) {
    if (p.needsDeflate && !deflate) continue;
    const id = `prop.${p.name}`;
    const one = selectors?.map((s) => new RegExp(`^${id.replace(/[.-]/g, '\\$&')}\\.(\\d+)$`).exec(s)).find(Boolean);
    if (one) record(await runProperty(r, p, Number(one[1]), pool));
    else if (r.runs > 0 && selected(id, selectors)) record(await runProperty(r, p, undefined, pool));
  }
  return finish(r, startedAt, started, results);
}

function finish(r: Resolved, startedAt: string, started: number, results: CaseResult[]): ConformanceReport {
  results.sort(byReportOrder);
  const summary = { OK: 0, 'NON-STRICT': 0, INFORMATIONAL: 0, FAILED: 0, total: results.length };
  for (const result of results) summary[result.verdict]++;
  return { peer: r.connector.peer, url: r.url, seed: r.seed, startedAt, durationMs: Math.round(performance.now() - started), results, summary, failed: summary.FAILED > 0 };
}

const GROUP_ORDER = new Map(GROUPS.map((g, i) => [g.key, i]));

function byReportOrder(a: CaseResult, b: CaseResult): number {
  const ga = GROUP_ORDER.get(a.group) ?? GROUPS.length;
  const gb = GROUP_ORDER.get(b.group) ?? GROUPS.length;
  if (ga !== gb) return ga - gb;
  if (a.kind !== b.kind) return a.kind === 'case' ? -1 : 1;
  return a.kind === 'case' ? compareIds(a.id, b.id) : 0;
}

