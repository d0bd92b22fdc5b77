export declare const SCHEMATHESIS_VERSION: string;
export declare const SCHEMATHESIS_DIR: string;
export declare function schemathesisEnv(): NodeJS.ProcessEnv;
export declare function findSchemathesis(): string | undefined;
export declare function missingSchemathesisMessage(): string;
export declare function ensureSchemathesis(options?: { log?: (line: string) => void }): string | undefined;
