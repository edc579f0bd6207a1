// Turning one WebSocket text frame into a typed message, or into the error the
// contract says to answer with. Pure functions: no I/O, safe on any input.
import type { z } from 'zod';
import {
  clientSchemas,
  serverSchemas,
  ROOM_ID_PATTERN,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
} from './messages.js';

export interface ParseFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** The `type` of the rejected message, when it had a readable one. */
  request_type?: string;
}
export type ParseResult<T> = { ok: true; message: T } | ParseFailure;

const MAX_TYPE_LENGTH = 64;
/**
 * Deepest nesting of objects and arrays a message may have. Forwarded signalling
 * keeps unknown fields, and JSON.stringify of a value nested thousands deep
 * (64 KiB of "[[[[…") overflows the stack, so such a frame is refused here.
 * Real messages nest three levels at most.
 */
export const MAX_DEPTH = 16;

/** True when `value` nests deeper than `max` (iterative: safe on any depth). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

function declaresRoomId(schema: z.ZodType): boolean {
  const shape: unknown = 'shape' in schema ? schema.shape : undefined;
  return typeof shape === 'object' && shape !== null && 'room_id' in shape;
}

function parseWith<T>(text: string, schemas: Record<string, z.ZodType>): ParseResult<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_json', message: 'the frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_message', message: 'a message must be a JSON object with a "type"' };
  }
  if (nestsDeeperThan(value, MAX_DEPTH)) {
    return { ok: false, code: 'bad_message', message: `a message may nest objects and arrays at most ${MAX_DEPTH} deep` };
  }
  const record = value as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string') {
    return { ok: false, code: 'bad_message', message: 'a message needs a string "type"' };
  }
  const requestType = type.slice(0, MAX_TYPE_LENGTH);
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    return { ok: false, code: 'bad_message', message: `unknown message type "${requestType}"`, request_type: requestType };
  }
  // A room id that is a string but not six digits gets its own code, so a user
  // who mistyped a code is told exactly that. Only where the message defines a
  // room_id: an extra field of forwarded signalling is the clients' business.
  if (typeof record.room_id === 'string' && !ROOM_ID_PATTERN.test(record.room_id) && declaresRoomId(schema)) {
    return { ok: false, code: 'invalid_room_id', message: 'room_id must be exactly six digits', request_type: type };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, code: 'bad_message', message: `${type}: ${where}${issue?.message ?? 'invalid'}`, request_type: type };
  }
  return { ok: true, message: result.data as T };
}

/** Validate a frame a client sent (used by the server). */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith<ClientMessage>(text, clientSchemas);
}

/** Validate a frame the server sent (used by the browser). */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith<ServerMessage>(text, serverSchemas);
}
