import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/** JSON logs; credentials are redacted wherever they appear in a logged object. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'hookline' },
    redact: {
      paths: ['*.secret', '*.authorization', '*.Authorization', 'headers.*', '*.apiKey', '*.adminToken'],
      censor: '[redacted]',
    },
  });
}
