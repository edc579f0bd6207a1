// Turning server error codes into sentences people understand.
import { t, type MessageKey } from './i18n.js';

const SENTENCES: Partial<Record<string, MessageKey>> = {
  room_not_found: 'err_room_not_found',
  invalid_room_id: 'err_invalid_room_id',
  room_full: 'err_room_full',
  not_allowed: 'err_not_allowed',
  rate_limited: 'err_rate_limited',
  password_required: 'err_password_required',
  wrong_password: 'err_wrong_password',
};

export function describeServerError(code: string, message: string, roomId = ''): string {
  const key = SENTENCES[code];
  return key ? t(key, { code: roomId }) : t('err_generic', { message });
}

export function showError(el: HTMLElement, message: string): void {
  el.textContent = message;
  el.hidden = false;
}
