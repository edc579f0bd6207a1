// SIGTERM and restarts with the server as a real child process: clients are
// told `server_going_away` with the reconnect hint, /healthz turns 503 and new
// connections are refused while it drains, and it exits 0. The room secret
// kept in the data directory makes room codes survive the restart.
import { describe, expect, it } from 'vitest';
import { TestClient, createRoom, joinRoom } from '../helpers/client.js';
import { start, tempDataDir } from '../helpers/server-process.js';

const env = { HOST: '127.0.0.1', PORT: '0' };

describe('SIGTERM', () => {
  it('tells clients to come back, refuses new ones while draining, and exits 0 when they are gone', async () => {
    const srv = await start({ ...env, DRAIN_TIMEOUT: '20', RECONNECT_AFTER: '0.75' });
    const url = `ws://127.0.0.1:${srv.port}/ws`;
    const b = await TestClient.connect(url);
    const v = await TestClient.connect(url);
    const { roomId } = await createRoom(b);
    await joinRoom(v, roomId, b);

    const signalled = Date.now();
    srv.child.kill('SIGTERM');
    expect(await b.next('server_going_away', 5_000)).toEqual({ type: 'server_going_away', reconnect_after_ms: 750 });
    expect(await v.next('server_going_away', 5_000)).toEqual({ type: 'server_going_away', reconnect_after_ms: 750 });

    const health = await fetch(`http://127.0.0.1:${srv.port}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'draining' });
    await expect(TestClient.connect(url)).rejects.toThrow(/503/);
    // The connected clients are still served while they leave.
    await v.roundTrip();

    await b.close();
    await v.close();
    expect(await srv.exited).toBe(0);
    // It did not sit out the whole 20 s drain once everyone had left.
    expect(Date.now() - signalled).toBeLessThan(15_000);
    expect([...b.violations, ...v.violations]).toEqual([]);
  });

  it('cuts clients that do not leave after DRAIN_TIMEOUT, still exiting 0', async () => {
    const srv = await start({ ...env, DRAIN_TIMEOUT: '0.5' });
    const stubborn = await TestClient.connect(`ws://127.0.0.1:${srv.port}/ws`);
    srv.child.kill('SIGTERM');
    await stubborn.next('server_going_away', 5_000);
    expect(await srv.exited).toBe(0);
    await stubborn.closed();
  });
});

describe('restart', () => {
  it('with the same data directory, the broadcaster reclaims the same room code and viewers join it again', async () => {
    const dataDir = tempDataDir();
    const first = await start({ ...env, DATA_DIR: dataDir, DRAIN_TIMEOUT: '0' });
    const b = await TestClient.connect(`ws://127.0.0.1:${first.port}/ws`);
    const { roomId, token } = await createRoom(b);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await b.closed();

    const second = await start({ ...env, DATA_DIR: dataDir });
    const url = `ws://127.0.0.1:${second.port}/ws`;
    const b2 = await TestClient.connect(url);
    b2.send({ type: 'create_room', room_id: roomId, room_token: token });
    expect(await b2.next('room_created')).toMatchObject({ room_id: roomId });
    const v = await TestClient.connect(url);
    await joinRoom(v, roomId, b2);
    await Promise.all([b2.close(), v.close()]);

    // Another data directory means another secret: the old token is refused.
    const third = await start({ ...env, DATA_DIR: tempDataDir() });
    const b3 = await TestClient.connect(`ws://127.0.0.1:${third.port}/ws`);
    b3.send({ type: 'create_room', room_id: roomId, room_token: token });
    await b3.nextError('not_allowed');
    await b3.close();
    // Three server processes start in this test; on a loaded two-core machine that alone can take 15 s.
  }, 45_000);
});
