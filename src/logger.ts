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

/**
 * Temporal's SDK and core log through pino too, so a run has one JSON log. While the server is
 * unreachable the core repeats the same warnings many times a second (every poller, every
 * retry): one line per message per `quietMs` is kept, with the count of those left out.
 */
export function temporalLogger(log: Logger, quietMs = 30_000): TemporalLogger {
  const child = log.child({ component: 'temporal' });
  const recent = new Map<string, { at: number; left: number }>();
  const at =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, meta?: LogMetadata): void => {
      const key = `${level}:${message.slice(0, 80)}`;
      const now = Date.now();
      const seen = recent.get(key);
      if (seen && now - seen.at < quietMs) {
        seen.left++;
        return;
      }
      if (recent.size > 1000) recent.clear();
      recent.set(key, { at: now, left: 0 });
      child[level]({ ...meta, ...(seen?.left ? { repeatedSinceLast: seen.left } : {}) }, message);
    };
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
