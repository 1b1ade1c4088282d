// Telegram: the Bot API's sendMessage, plain text (no parse_mode, so nothing needs escaping).
import type { Channel } from './schema.js';
import { jsonPost, plainText, type Notice, type Outgoing } from './message.js';

export function telegramRequest(c: Extract<Channel, { kind: 'telegram' }>, n: Notice): Outgoing {
  const base = c.apiUrl.replace(/\/+$/, '');
  return jsonPost(`${base}/bot${c.botToken}/sendMessage`, {
    chat_id: c.chatId,
    text: plainText(n).slice(0, 4096),
    disable_web_page_preview: true,
  });
}
