// The front page: the two ways in, and the public broadcasts live right now.
import { t } from './i18n.js';
import { h } from './dom.js';

interface PublicRoom {
  room_id: string;
  viewer_count: number;
  live?: boolean;
}

export function renderHomePage(root: HTMLElement): () => void {
  const list = h('ul', { class: 'room-list', testid: 'room-list' });
  const empty = h('p', { class: 'muted', text: 'no_live_rooms' });
  root.replaceChildren(
    h('h1', { class: 'tagline', text: 'tagline' }),
    h(
      'div',
      { class: 'entry' },
      h('a', { testid: 'start-broadcast', class: 'button primary big', attrs: { href: '#/broadcast', role: 'button' }, text: 'start_broadcast' }),
      h('a', { testid: 'watch-broadcast', class: 'button big', attrs: { href: '#/watch', role: 'button' }, text: 'watch_broadcast' }),
    ),
    h('section', { class: 'card' }, h('h2', { text: 'live_now' }), empty, list),
    h('p', { class: 'muted' }, h('a', { testid: 'network-test', attrs: { href: '#/network-test' }, text: 'network_test' })),
  );

  let stopped = false;
  async function refresh(): Promise<void> {
    try {
      const res = await fetch('/api/rooms');
      const { rooms } = (await res.json()) as { rooms: PublicRoom[] };
      if (stopped) return;
      const live = rooms.filter((r) => r.live !== false);
      empty.hidden = live.length > 0;
      list.replaceChildren(
        ...live.map((r) =>
          h('li', {}, h('a', { attrs: { href: `#/watch/${r.room_id}` } }, r.room_id), ' ', h('span', { class: 'muted', text: ['viewers_n', { n: r.viewer_count }] })),
        ),
      );
    } catch {
      // The list is a convenience; the buttons work without it.
    }
  }
  void refresh();
  const timer = setInterval(() => void refresh(), 5000);
  document.title = t('app_title');
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
