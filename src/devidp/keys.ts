/**
 * The dev IdP's signing keys: RSA, generated at start, never written to disk. Rotation puts a new
 * key first (oidc-provider signs with the first matching key) and keeps the old ones in the JWKS so
 * tokens they signed still verify until they are retired.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const meta = { kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), ...meta },
    publicJwk: { ...(await exportJWK(publicKey)), ...meta },
  };
}

export class KeyRing {
  private constructor(private keys: SigningKey[]) {}

  static async create(): Promise<KeyRing> {
    return new KeyRing([await generateSigningKey()]);
  }

  /** The key new tokens are signed with. */
  get current(): SigningKey {
    const [first] = this.keys;
    if (!first) throw new Error('key ring is empty');
    return first;
  }

  get privateJwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.privateJwk) };
  }

  get publicJwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** Adds a new signing key in front; returns its kid. */
  async rotate(): Promise<string> {
    const key = await generateSigningKey();
    this.keys = [key, ...this.keys];
    return key.kid;
  }

  /** Drops every key but the current one: tokens signed by the others stop verifying. */
  retireOld(): void {
    this.keys = [this.current];
  }
}
