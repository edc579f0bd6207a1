// The floor for bench/signalling-load.ts: a bare `ws` server on loopback that
// answers every frame with the same frame. Whatever LiveRoom costs above this
// is its own work (validation, rooms, stats).
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.send('{"type":"welcome"}');
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  const address = wss.address();
  console.log(`listening on port ${typeof address === 'string' || address === null ? address : address.port}`);
});
