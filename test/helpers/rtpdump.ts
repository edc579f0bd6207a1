// RTP captures in rtptools' rtpdump format ("#!rtpplay1.0"), so Wireshark and
// rtpplay read the fixtures too: a text line, a 16-byte file header, then per
// packet an 8-byte header (record length, packet length, ms since the start)
// and the packet.
import { readFileSync, writeFileSync } from 'node:fs';

export interface RecordedPacket {
  /** Arrival, ms after the first packet. */
  offsetMs: number;
  data: Buffer;
}

const MAGIC = '#!rtpplay1.0 127.0.0.1/0\n';

export function writeRtpdump(path: string, packets: RecordedPacket[], startMs: number): void {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(Math.floor(startMs / 1000), 0);
  head.writeUInt32BE((startMs % 1000) * 1000, 4);
  const records = packets.map((p) => {
    const r = Buffer.alloc(8);
    r.writeUInt16BE(8 + p.data.length, 0);
    r.writeUInt16BE(p.data.length, 2);
    r.writeUInt32BE(Math.round(p.offsetMs), 4);
    return Buffer.concat([r, p.data]);
  });
  writeFileSync(path, Buffer.concat([Buffer.from(MAGIC, 'latin1'), head, ...records]));
}

export function readRtpdump(path: string): RecordedPacket[] {
  const file = readFileSync(path);
  let at = file.indexOf(0x0a) + 1 + 16;
  const packets: RecordedPacket[] = [];
  while (at + 8 <= file.length) {
    const length = file.readUInt16BE(at);
    const plen = file.readUInt16BE(at + 2);
    packets.push({ offsetMs: file.readUInt32BE(at + 4), data: file.subarray(at + 8, at + 8 + plen) });
    at += length;
  }
  return packets;
}
