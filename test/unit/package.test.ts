// pushwire ships with no runtime dependencies: only node: built-ins.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('package', () => {
  it('declares no runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
  });

  it('imports only node: built-ins and its own modules from src/', () => {
    const files = sourceFiles(join(root, 'src'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/\bfrom\s+'([^']+)'/g)) {
        expect(specifier.startsWith('node:') || specifier.startsWith('.'), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it('keeps the protocol cores (WebSocket, RESP) free of I/O, timers and the clock', () => {
    const redisCore = ['resp.ts', 'errors.ts', 'url.ts', 'backoff.ts'].map((name) => join(root, 'src', 'redis', name));
    for (const file of [...sourceFiles(join(root, 'src', 'protocol')), ...redisCore]) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/from 'node:(net|http|https|tls|dgram|fs|timers)'/);
      expect(text, file).not.toMatch(/\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now)\b/);
    }
  });
});
