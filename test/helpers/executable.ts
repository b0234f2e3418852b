// Finding a program the tests need (Chromium, redis-server): an environment
// variable that names it — and then must be right, so a wrong path fails
// loudly instead of skipping — or else the first of its names on PATH.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `env[variable]` when set (it must be an executable file), else the first of `names` on PATH, else undefined. */
export function findExecutable(variable: string, names: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env[variable];
  if (chosen) {
    if (!isExecutableFile(chosen)) throw new Error(`${variable}=${chosen} is not an executable file`);
    return chosen;
  }
  for (const directory of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = join(directory, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}
