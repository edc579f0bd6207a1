// Turning server error codes into sentences people understand.
import { t } from '../i18n.js';

export function describeServerError(code: string, message: string, roomId = ''): string {
  switch (code) {
    case 'room_not_found':
      return t('err_room_not_found', { code: roomId });
    case 'invalid_room_id':
      return t('err_invalid_room_id');
    case 'room_full':
      return t('err_room_full');
    case 'not_allowed':
      return t('err_not_allowed');
    case 'rate_limited':
      return t('err_rate_limited');
    case 'password_required':
      return t('err_password_required');
    case 'wrong_password':
      return t('err_wrong_password');
    default:
      return t('err_generic', { message });
  }
}

export function showError(el: HTMLElement, message: string): void {
  el.textContent = message;
  el.hidden = false;
}
