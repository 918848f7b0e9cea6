/**
 * WebCrypto's key types, taken from `globalThis.crypto` so the same modules
 * type-check under Node's typings (no DOM lib) and the dashboard's DOM lib.
 */
type Subtle = typeof globalThis.crypto.subtle;

export type WebCryptoKey = Parameters<Subtle["sign"]>[1];
export interface WebCryptoKeyPair {
  publicKey: WebCryptoKey;
  privateKey: WebCryptoKey;
}
type KeyUsages = Parameters<Subtle["importKey"]>[4];
/** The element type of `importKey`'s usages (an array in Node's typings, an `Iterable` with the DOM.Iterable lib). */
export type WebCryptoKeyUsage = KeyUsages extends Iterable<infer Usage> ? Usage : never;
