const MAX_LENGTH = 2048;

/**
 * Where to send the browser after sign-in: only a path on the gateway's own origin. Anything that
 * could leave the origin (`//evil`, `/\evil`, `https://evil`, control characters, encoded tricks
 * that a browser would resolve elsewhere) falls back to `/`.
 */
export function safeReturnTo(value: unknown, publicUrl: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const base = new URL(publicUrl);
    const resolved = new URL(value, base);
    if (resolved.origin !== base.origin) return '/';
    const path = resolved.pathname + resolved.search + resolved.hash;
    return path.startsWith('//') ? '/' : path;
  } catch {
    return '/';
  }
}
