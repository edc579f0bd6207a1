// A typed event emitter for the DOM-free classes (sessions, links, players):
// the UI subscribes, they never touch the page. A listener that throws is
// logged and the others still run, so one broken view cannot silence the rest
// or break the code that emitted.
export type Listener<T> = (payload: T) => void;
export type Handlers<Events> = { [K in keyof Events]?: Listener<Events[K]> };

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Subscribe one handler per event at once; the function returned removes them all. */
  onEach(handlers: Handlers<Events>): () => void {
    const offs = (Object.keys(handlers) as (keyof Events)[]).map((event) => this.on(event, handlers[event] as Listener<Events[typeof event]>));
    return () => offs.forEach((off) => off());
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // A copy: a listener may unsubscribe itself (or another) while this runs.
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (err) {
        console.error(`a listener of "${String(event)}" failed:`, err);
      }
    }
  }
}
