// Structured JSON logs (pino) on stdout, one object a line. Secrets are never
// logged on purpose; the redaction list is the safety net for a field that
// slips into a log call anyway (a message, a config object).
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

const SECRET_FIELDS = ['password', 'room_token', 'roomSecret', 'secret', 'credential', 'turn.secret', 'turn.credential'];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'liveroom' },
    redact: { paths: [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`)], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
