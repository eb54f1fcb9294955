/** Tiny persistence for the local AWS endpoints: a JSON file under the data dir, or memory only. */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JsonFile<T> {
  read(): T;
  write(value: T): void;
}

/** `path` undefined keeps the value in memory (the `inMemory` mode); the initial value is saved on first read. */
export function jsonFile<T>(path: string | undefined, initial: () => T): JsonFile<T> {
  let cached: T | undefined;
  const file: JsonFile<T> = {
    read() {
      if (cached !== undefined) return cached;
      if (path && existsSync(path)) {
        cached = JSON.parse(readFileSync(path, 'utf8')) as T;
        return cached;
      }
      const value = initial();
      file.write(value);
      return value;
    },
    write(value) {
      cached = value;
      if (!path) return;
      mkdirSync(dirname(path), { recursive: true });
      // Write-then-rename so a crash never leaves half a file (the KMS key lives in one).
      writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 2), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    },
  };
  return file;
}

export interface JsonLines<T> {
  append(value: T): void;
  all(): T[];
}

export function jsonLines<T>(path: string | undefined): JsonLines<T> {
  const memory: T[] = [];
  return {
    append(value) {
      if (!path) {
        memory.push(value);
        return;
      }
      mkdirSync(dirname(path), { recursive: true });
      appendFileSync(path, `${JSON.stringify(value)}\n`);
    },
    all() {
      if (!path) return [...memory];
      if (!existsSync(path)) return [];
      return readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as T);
    },
  };
}
