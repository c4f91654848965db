import type { Config } from '../config/config.js';
import type { PolicyOptions } from './evaluate.js';

/** The policy's options, as the configuration sets them (one reading for every stage that asks the policy). */
export function policyOptionsFrom(config: Pick<Config, 'roles' | 'adminAllowDangerous' | 'adminAllowEndpoints' | 'studyAccess'>): PolicyOptions {
  const { studyAccess } = config;
  return { roles: config.roles, allowDangerous: config.adminAllowDangerous, allowEndpoints: config.adminAllowEndpoints, ...(studyAccess ? { studyAccess } : {}) };
}
