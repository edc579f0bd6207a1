// The broadcaster's viewers on the server relay, and the one publisher that
// feeds them all: it starts with the first relay viewer and encodes only
// while the server reports relay viewers (relay/publisher.ts).
import { RelayPublisher, type RelayPublisherStats } from '../relay/publisher.js';
import type { TrackKind } from './capture.js';
import type { Quality } from './media.js';

export class RelayFeed {
  readonly viewers = new Set<string>();
  private publisher: RelayPublisher | null = null;
  private latest: RelayPublisherStats | null = null;

  constructor(
    /** The /relay publish URL for this room. */
    private readonly url: () => string,
    private readonly onError: (message: string) => void,
  ) {}

  /** The relay stream's figures while it has viewers. */
  get stats(): RelayPublisherStats | null {
    return this.viewers.size ? this.latest : null;
  }

  serve(viewerId: string, stream: MediaStream, quality: Quality): void {
    this.viewers.add(viewerId);
    if (this.publisher) return;
    const publisher = new RelayPublisher(this.url(), stream, quality);
    publisher.on('stats', (s) => (this.latest = s));
    publisher.on('error', (e) => this.onError(e.message));
    publisher.start();
    this.publisher = publisher;
  }

  remove(viewerId: string): void {
    this.viewers.delete(viewerId);
  }

  replaceTrack(kind: TrackKind, track: MediaStreamTrack | null): void {
    this.publisher?.replaceTrack(track, kind);
  }

  setQuality(quality: Quality): void {
    this.publisher?.setQuality(quality);
  }

  /** Viewers were announced again (a new client id after a reconnect): the list starts over. */
  forgetViewers(): void {
    this.viewers.clear();
  }

  stop(): void {
    this.viewers.clear();
    this.publisher?.stop();
    this.publisher = null;
  }
}
