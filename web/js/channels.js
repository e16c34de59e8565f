// The customer channels Switchboard speaks, with the names shown in the UI.
export const CHANNELS = [
  { value: 'widget', label: 'Website chat' },
  { value: 'whatsapp', label: 'WhatsApp' },
  { value: 'messenger', label: 'Messenger' },
  { value: 'instagram', label: 'Instagram' },
  { value: 'x', label: 'X' },
  { value: 'sms', label: 'SMS' },
  { value: 'telegram', label: 'Telegram' },
];
