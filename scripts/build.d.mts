export declare const ROOT: string;
export declare const DIST: string;
export declare const WORKFLOW_BUNDLE: string;
export declare function staleReason(): string | undefined;
export declare function buildServer(): Promise<{
  builtAt: string;
  modules: number;
  bundleBytes: number;
  ms: number;
}>;
