// The room-code box: whatever is typed or pasted becomes at most six ASCII
// digits, so "123 456", "１２３４５６" (full-width, from a Chinese IME) and a
// code pasted with a trailing newline all work.
export function normalizeRoomCode(text: string): string {
  return text.normalize('NFKC').replace(/\D/g, '').slice(0, 6);
}

/** Keep an input normalised on every edit and paste (a paste is normalised before it is inserted, so nothing is cut short). */
export function acceptRoomCodes(input: HTMLInputElement): void {
  input.addEventListener('input', () => {
    const clean = normalizeRoomCode(input.value);
    if (clean !== input.value) input.value = clean;
  });
  input.addEventListener('paste', (event) => {
    const pasted = event.clipboardData?.getData('text');
    if (pasted === undefined) return;
    event.preventDefault();
    const { selectionStart: start, selectionEnd: end, value } = input;
    input.value = normalizeRoomCode(value.slice(0, start ?? value.length) + pasted + value.slice(end ?? value.length));
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
