import { findBinary, missingBinaryMessage, type BinaryKind } from '../../scripts/temporal-binaries.mjs';

export class MissingBinaryError extends Error {
  constructor(kind: BinaryKind) {
    super(missingBinaryMessage(kind));
    this.name = 'MissingBinaryError';
  }
}

/** Path of an installed Temporal binary (see scripts/temporal-binaries.mjs), or a clear error. */
export function requireBinary(kind: BinaryKind): string {
  const found = findBinary(kind);
  if (!found) throw new MissingBinaryError(kind);
  return found.path;
}
