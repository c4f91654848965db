import { envSchema } from './schema.js';
import { toConfig, type Config } from './config.js';

/** Thrown when the environment is invalid; `problems` names every offending variable, never its value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  // docker-compose passes `VAR=` as an empty string: treat it as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    // Name only the variable: deeper path parts (JSON keys) may be credentials.
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const missing = present[name] === undefined && issue.code === 'invalid_type';
      return `${name}: ${missing ? 'is required' : issue.message}`;
    });
    throw new ConfigError(problems);
  }
  return toConfig(parsed.data);
}

export type { Config };
