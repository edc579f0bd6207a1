// Chat on a real server: who gets a message and with which name, the history a
// late joiner gets, hostile text and names, the per-connection rate limit, and
// the broadcaster's deletions and removals.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_HISTORY_SIZE } from '../../src/protocol/messages.js';
import { ClientPool, createRoom, joinRoom, type SilenceOptions, type TestClient } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// A chat budget that does not refill within a test: exactly BURST messages get through.
const BURST = 5;
let srv: RunningServer;
/** The same server with room for the history tests' 60 messages. */
let roomy: RunningServer;
const pool = new ClientPool(() => srv.wsUrl);
beforeAll(async () => {
  srv = await startServer({ statsIntervalMs: 600_000, chat: { burst: BURST, messagesPerSecond: 0.001 } });
  roomy = await startServer({ statsIntervalMs: 600_000, chat: { burst: 1_000, messagesPerSecond: 1_000 } });
});
afterAll(async () => {
  await Promise.all([srv.close(), roomy.close()]);
});
afterEach(async () => {
  expect(await pool.closeAll()).toEqual([]);
});

const quiet: SilenceOptions = { ignore: ['stats_summary', 'viewer_joined', 'viewer_left'] };

/** A broadcaster and named viewers in one room. */
async function room(names: (string | undefined)[], url = srv.wsUrl) {
  const broadcaster = await pool.connect(url);
  const { roomId } = await createRoom(broadcaster);
  const viewers: TestClient[] = [];
  for (const name of names) {
    const v = await pool.connect(url);
    v.send({ type: 'join_room', room_id: roomId, ...(name === undefined ? {} : { name }) });
    await v.next('room_joined');
    await broadcaster.next('viewer_joined', { where: (m) => m.viewer_id === v.id });
    viewers.push(v);
  }
  return { broadcaster, roomId, viewers, everyone: [broadcaster, ...viewers] };
}

describe('messages', () => {
  it('a viewer’s message reaches everyone in the room, the sender too, with its name, id and time', async () => {
    const { broadcaster, viewers, everyone } = await room(['小明 <b>', undefined]);
    const outsider = await pool.connect();
    await createRoom(outsider);
    viewers[0]!.send({ type: 'chat_send', text: '  大家好 hello  ' });
    const got = await Promise.all(everyone.map((c) => c.next('chat_message')));
    for (const m of got) expect(m).toEqual(got[0]);
    const m = got[0]!;
    expect(m).toMatchObject({ from_id: viewers[0]!.id, name: '小明 <b>', text: '大家好 hello' });
    expect(m.broadcaster).toBeUndefined();
    expect(new Date(m.sent_at).toISOString()).toBe(m.sent_at);
    expect(m.id.length).toBeGreaterThan(0);
    await outsider.expectNothing(100);

    // No name given: the server's default. The broadcaster's messages say so.
    viewers[1]!.send({ type: 'chat_send', text: 'hi' });
    expect((await broadcaster.next('chat_message')).name).toMatch(/^Viewer \d{4}$/);
    broadcaster.send({ type: 'chat_send', text: 'welcome' });
    expect(await viewers[0]!.next('chat_message', { where: (x) => x.text === 'welcome' })).toMatchObject({ from_id: broadcaster.id, broadcaster: true });
  });

  it('outside a room chat_send is not_in_room', async () => {
    const c = await pool.connect();
    c.send({ type: 'chat_send', text: 'anyone?' });
    expect((await c.nextError('not_in_room')).request_type).toBe('chat_send');
  });
});

describe('history', () => {
  it('a late joiner gets the last 50 messages, oldest first; a reclaiming broadcaster gets them too; an empty chat sends none', async () => {
    const { broadcaster, roomId, viewers } = await room(['early'], roomy.wsUrl);
    const silent = await pool.connect(roomy.wsUrl);
    await joinRoom(silent, (await createRoom(await pool.connect(roomy.wsUrl))).roomId);
    await silent.expectNothing(100, { ignore: ['stats_summary'] });

    for (let i = 1; i <= 60; i++) viewers[0]!.send({ type: 'chat_send', text: `message ${i}` });
    await broadcaster.next('chat_message', { where: (m) => m.text === 'message 60', timeoutMs: 5_000 });
    const late = await pool.connect(roomy.wsUrl);
    await joinRoom(late, roomId);
    const { messages } = await late.next('chat_history');
    expect(messages).toHaveLength(CHAT_HISTORY_SIZE);
    expect(messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `message ${i + 11}`));
    expect(messages.every((m) => m.name === 'early')).toBe(true);
  });

  it('a broadcaster taking its room back gets the history', async () => {
    const { broadcaster, roomId, viewers } = await room(['v'], roomy.wsUrl);
    viewers[0]!.send({ type: 'chat_send', text: 'still here?' });
    await broadcaster.next('chat_message');
    const token = roomy.server.rooms.get(roomId)!.token;
    const again = await pool.connect(roomy.wsUrl);
    again.send({ type: 'create_room', room_id: roomId, room_token: token });
    await again.next('room_created');
    expect((await again.next('chat_history')).messages.map((m) => m.text)).toEqual(['still here?']);
  });
});

describe('hostile input changes nothing', () => {
  it('HTML is relayed as the same characters; the server escapes nothing and adds nothing', async () => {
    const { viewers } = await room(['a', 'b']);
    const html = '<img src=x onerror="alert(1)"><script>alert(2)</script>&amp;';
    viewers[0]!.send({ type: 'chat_send', text: html });
    expect((await viewers[1]!.next('chat_message')).text).toBe(html);
  });

  it('empty, whitespace-only, too long (501 characters, 10 kB), control characters: bad_message, and nobody hears a thing', async () => {
    const { viewers, everyone } = await room(['a', 'b']);
    const bad = ['', '   ', ' \t \u3000 ', 'x'.repeat(501), '长'.repeat(3_414), 'bell\u0007', 'nul\u0000', '\u001b[31mred', 'a\nb', 'evil\u202Eeman', 'c1\u0085'];
    for (const text of bad) {
      viewers[0]!.send({ type: 'chat_send', text });
      const error = await viewers[0]!.nextError('bad_message');
      expect(error.request_type, JSON.stringify(text)).toBe('chat_send');
    }
    viewers[0]!.send({ type: 'chat_send', text: 42 });
    await viewers[0]!.nextError('bad_message');
    for (const c of everyone) await c.expectNothing(100, quiet);
    // 500 characters is the limit, counted as characters: 500 emoji pass.
    viewers[0]!.send({ type: 'chat_send', text: '🎉'.repeat(500) });
    expect((await viewers[1]!.next('chat_message')).text).toBe('🎉'.repeat(500));
  });

  it('a name must be 1–32 characters without control characters; it is trimmed', async () => {
    const { roomId, broadcaster } = await room([]);
    const v = await pool.connect();
    for (const name of ['', '   ', 'n'.repeat(33), 'tab\tname', 'new\nline', '\u202Egnp.exe']) {
      v.send({ type: 'join_room', room_id: roomId, name });
      expect((await v.nextError('bad_message')).request_type).toBe('join_room');
    }
    expect(v.log.some((m) => m.type === 'room_joined')).toBe(false);
    v.send({ type: 'join_room', room_id: roomId, name: '  ' + '名'.repeat(32) + ' ' });
    await v.next('room_joined');
    v.send({ type: 'chat_send', text: 'ok' });
    expect((await broadcaster.next('chat_message')).name).toBe('名'.repeat(32));
  });
});

describe('rate limit', () => {
  it('a 100-message flood: the burst gets through, every other message is answered rate_limited, the connection goes on', async () => {
    const { viewers, broadcaster } = await room(['flood', 'other']);
    for (let i = 0; i < 100; i++) viewers[0]!.send({ type: 'chat_send', text: `flood ${i}` });
    await viewers[0]!.roundTrip();
    const errors = viewers[0]!.log.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(100 - BURST);
    expect(errors.every((e) => e.type === 'error' && e.code === 'rate_limited' && e.request_type === 'chat_send' && /wait/.test(e.message))).toBe(true);
    for (const c of [broadcaster, viewers[1]!]) {
      const got = c.drain('chat_message');
      expect(got.map((m) => (m as { text: string }).text)).toEqual(Array.from({ length: BURST }, (_, i) => `flood ${i}`));
    }
    // The budget is per connection: the other viewer still chats.
    viewers[1]!.send({ type: 'chat_send', text: 'my turn' });
    expect((await broadcaster.next('chat_message')).text).toBe('my turn');
  });
});

describe('the broadcaster’s moderation', () => {
  it('chat_delete removes a message for everyone and from the history; only the broadcaster may, only a kept id', async () => {
    const { broadcaster, roomId, viewers, everyone } = await room(['a', 'b']);
    viewers[0]!.send({ type: 'chat_send', text: 'spam' });
    viewers[0]!.send({ type: 'chat_send', text: 'fine' });
    const [spam] = await Promise.all([broadcaster.next('chat_message'), broadcaster.next('chat_message', { where: (m) => m.text === 'fine' })]);
    viewers[1]!.send({ type: 'chat_delete', id: spam.id });
    expect((await viewers[1]!.nextError('not_allowed')).request_type).toBe('chat_delete');
    broadcaster.send({ type: 'chat_delete', id: 'no-such-message' });
    await broadcaster.nextError('not_allowed');
    broadcaster.send({ type: 'chat_delete', id: spam.id });
    for (const c of everyone) expect(await c.next('chat_delete')).toEqual({ type: 'chat_delete', id: spam.id });
    const late = await pool.connect();
    await joinRoom(late, roomId);
    expect((await late.next('chat_history')).messages.map((m) => m.text)).toEqual(['fine']);
  });

  it('a removed viewer is out of the chat and cannot join the room again on the same connection', async () => {
    const { broadcaster, roomId, viewers } = await room(['troll', 'nice']);
    broadcaster.send({ type: 'remove_viewer', viewer_id: viewers[0]!.id });
    await viewers[0]!.next('removed');
    viewers[0]!.send({ type: 'chat_send', text: 'let me back' });
    await viewers[0]!.nextError('not_in_room');
    viewers[0]!.send({ type: 'join_room', room_id: roomId, name: 'troll2' });
    expect((await viewers[0]!.nextError('not_allowed')).request_type).toBe('join_room');
    await broadcaster.expectNothing(100, { ignore: ['stats_summary', 'viewer_left'] });
    // Other rooms stay open to it, and the room to everyone else.
    await joinRoom(viewers[0]!, (await createRoom(await pool.connect())).roomId);
    viewers[1]!.send({ type: 'chat_send', text: 'still chatting' });
    expect((await broadcaster.next('chat_message')).text).toBe('still chatting');
  });
});
