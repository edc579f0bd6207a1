// An empty page on http://127.0.0.1: a secure context, which getUserMedia and
// WebCodecs require, with nothing of the app in it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function serveBlankPage(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.end('<!doctype html><meta charset="utf-8"><title>blank</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
