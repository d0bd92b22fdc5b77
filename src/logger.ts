import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Config } from './config.js';

/**
 * JSON logs (pino). Credentials are redacted wherever they appear in a logged object; code logs
 * ids, never secrets, keys or signatures.
 */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'hookline' },
    redact: {
      paths: [
        '*.secret',
        '*.authorization',
        '*.Authorization',
        'headers.*',
        '*.apiKey',
        '*.adminToken',
        '*.key',
        '*.signature',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Temporal's SDK and core log through pino too, so a run has one JSON log. */
export function temporalLogger(log: Logger): TemporalLogger {
  const child = log.child({ component: 'temporal' });
  const at =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, meta?: LogMetadata): void =>
      child[level](meta ?? {}, message);
  const levels: Record<LogLevel, (message: string, meta?: LogMetadata) => void> = {
    TRACE: at('trace'),
    DEBUG: at('debug'),
    INFO: at('info'),
    WARN: at('warn'),
    ERROR: at('error'),
  };
  return {
    log: (level, message, meta) => levels[level](message, meta),
    trace: levels.TRACE,
    debug: levels.DEBUG,
    info: levels.INFO,
    warn: levels.WARN,
    error: levels.ERROR,
  };
}
