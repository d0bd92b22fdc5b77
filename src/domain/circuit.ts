/** Circuit-breaker settings of an endpoint (the state machine is workflows/endpoint.ts). */
export interface CircuitConfig {
  /** Consecutive failed attempts that open the circuit. */
  threshold: number;
  /** ms the circuit stays open before one probe is let through. */
  cooldown: number;
}

export const DEFAULT_CIRCUIT_CONFIG: CircuitConfig = { threshold: 5, cooldown: 60_000 };

export const CIRCUIT_BOUNDS = {
  threshold: { min: 1, max: 1000 },
  cooldown: { min: 1000, max: 24 * 60 * 60 * 1000 },
} as const;

export function resolveCircuitConfig(input: Partial<CircuitConfig> | null | undefined): CircuitConfig {
  return { ...DEFAULT_CIRCUIT_CONFIG, ...(input ?? {}) };
}

export type CircuitState = 'closed' | 'open' | 'half_open';
