// Which Chromium the browser tests drive: $PUSHWIRE_CHROMIUM when set (and
// then it must exist: a wrong path fails loudly rather than skipping), else
// the first of the usual names on PATH. `.ci/run` installs Debian's chromium
// and sets the variable, so in CI the browser tests never skip.
import { findExecutable } from './executable.js';

export const CHROMIUM_ENV = 'PUSHWIRE_CHROMIUM';
const NAMES_ON_PATH = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** Flags for a quiet, headless run in a container (no sandbox: often no user namespaces there). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The Chromium executable to use, or undefined when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable(CHROMIUM_ENV, NAMES_ON_PATH, env);
}

/** What to say when the browser tests cannot run. */
export const NO_CHROMIUM_WARNING = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!! Browser tests SKIPPED: no Chromium found.',
  `!! Install one (Debian/Ubuntu: apt-get install chromium; .ci/run does) or`,
  `!! point ${CHROMIUM_ENV} at a Chrome/Chromium executable.`,
  `!! Looked on PATH for: ${NAMES_ON_PATH.join(', ')}.`,
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n');
