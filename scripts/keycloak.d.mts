/** Types of scripts/keycloak.mjs (plain JS so that ensure-deps can run it before TypeScript is installed). */
import type { ChildProcess } from 'node:child_process';

export const KEYCLOAK_VERSION: string;
export const KEYCLOAK_ARTIFACT: string;
export const REALM_EXPORT: string;
export const KEYCLOAK_BUILD_OPTIONS: readonly string[];
export class KeycloakUnavailable extends Error {}
export function keycloakCacheDir(): string;
export function startArguments(options: { httpPort: number; managementPort: number; hostname?: string; httpHost?: string }): string[];
export function waitUntilReady(url: string, options: { child: ChildProcess; timeoutMs: number; output: () => string }): Promise<void>;
export function stopGroup(child: ChildProcess, timeoutMs?: number): Promise<void>;
export function ensureKeycloak(): Promise<string>;
export function createInstance(home: string, instanceDir: string, realmFiles: Record<string, string>): string;
