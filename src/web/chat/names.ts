// The viewer's display name, remembered on this device: the one they typed, or
// "Viewer NNNN" with a number drawn once. The wire form of the default is
// English; pages show it in their language ("观众 4821").
import { DisplayName } from '../../protocol/messages.js';

const NAME_KEY = 'liveroom.display-name';
const NUMBER_KEY = 'liveroom.viewer-number';
const DEFAULT_NAME = /^Viewer (\d{4})$/;

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** This device's viewer number, drawn once. */
export function viewerNumber(): string {
  const saved = stored(NUMBER_KEY);
  if (saved && /^\d{4}$/.test(saved)) return saved;
  const fresh = String(1000 + Math.floor(Math.random() * 9000));
  try {
    localStorage.setItem(NUMBER_KEY, fresh);
  } catch {
    // Private mode: a new number next time is all that is lost.
  }
  return fresh;
}

/** The name the viewer chose on this device, if any. */
export function chosenName(): string | null {
  const saved = stored(NAME_KEY);
  return saved !== null && DisplayName.safeParse(saved).success ? saved : null;
}

/** Remember a chosen name (trimmed); an empty or invalid one forgets it, and the default applies. */
export function chooseName(name: string): void {
  const parsed = DisplayName.safeParse(name);
  try {
    if (parsed.success) localStorage.setItem(NAME_KEY, parsed.data);
    else localStorage.removeItem(NAME_KEY);
  } catch {
    // Not remembered; this join still uses it.
  }
}

/** The name to join with. */
export function joinName(): string {
  return chosenName() ?? `Viewer ${viewerNumber()}`;
}

/** The number of a default name ("Viewer 4821" → "4821"), for pages to show it in their language. */
export function defaultNameNumber(name: string): string | null {
  return DEFAULT_NAME.exec(name)?.[1] ?? null;
}
