// The connection path in words: which rung of the ladder the viewer is on, and
// why the rungs before it were left ("direct connection blocked by the
// network → TURN relay over TCP").
import type { RungRecord } from '../watch/connection-ladder.js';
import { t } from './i18n.js';
import type { PathInfo } from '../rtc/stats-sampler.js';
import type { LadderStatus } from '../watch/session.js';

function whyLeft(record: RungRecord, next: RungRecord | undefined): string | null {
  const s = next ? Math.round((next.startedMs - record.startedMs) / 1000) : 0;
  switch (`${record.rung}:${record.leftBecause}`) {
    case 'direct:timeout':
      return t('why_direct_timeout', { s });
    case 'direct:failed':
      return t('why_direct_failed');
    case 'turn:timeout':
      return t('why_turn_timeout', { s });
    case 'turn:failed':
      return t('why_turn_failed');
    case 'turn:no_turn':
      return t('why_no_turn');
    default:
      return null;
  }
}

export function describeLadder(status: LadderStatus, path: PathInfo | null): string {
  const { history } = status;
  const steps = history.map((r, i) => whyLeft(r, history[i + 1])).filter((w): w is string => w !== null);
  let now: string;
  if (status.rung === 'relay' && !status.connected) now = t('path_relay');
  else if (!status.connected) now = t(status.rung === 'direct' ? 'path_trying_direct' : 'path_trying_turn');
  else if (path?.type === 'turn') {
    // ICE chose a relay pair on the first rung: the direct pairs did not work.
    if (!steps.length) steps.push(t('why_direct_skipped'));
    now = t('path_turn', { protocol: (path.turnProtocol ?? path.protocol).toUpperCase() });
  } else now = path ? t('path_p2p') : t('path_trying_direct');
  const connectedMs = status.connected ? history.at(-1)?.connectedMs : undefined;
  const tail = connectedMs !== undefined ? ` (${t('connected_in', { ms: connectedMs })})` : '';
  return [...steps, now].join(' → ') + tail;
}
