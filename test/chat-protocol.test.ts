// The chat's host ⇄ webview messages added for code-block actions, regenerate, context chips and
// the token meter (src/shared/chat-context.ts, src/shared/protocol.ts): well-formed frames pass
// unchanged; malformed ones (unknown chip kinds, missing or extra keys, oversized code, negative
// token counts, an unknown meter level, a link/open href that is not a string, empty or too long)
// are rejected with the path to the bad field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HREF, parseHostMessage, parseWebviewMessage } from '../src/shared/protocol';
import { MAX_CODE } from '../src/shared/chat-context';

const chips = [
  { kind: 'workspace', enabled: true, available: true, label: 'Workspace', detail: '2 files', tokens: 120, files: 2 },
  { kind: 'file', enabled: false, available: true, label: 'predict.ts', detail: 'removed' },
  { kind: 'selection', enabled: true, available: false, label: 'Selection', detail: 'nothing selected' },
];
const meter = { used: 300, window: 1024, reserved: 200, level: 'ok', leftOut: ['src/big.ts: over the token budget'] };

test('chat: new webview → host requests pass validation unchanged', () => {
  const frames = [
    { kind: 'request', id: 1, method: 'chat/regenerate', params: {} },
    { kind: 'request', id: 2, method: 'chat/chip', params: { kind: 'workspace', enabled: false } },
    { kind: 'request', id: 3, method: 'code/copy', params: { code: 'const x = 1;\n' } },
    { kind: 'request', id: 4, method: 'code/insert', params: { code: 'x', language: 'ts' } },
    { kind: 'request', id: 5, method: 'code/open', params: { code: 'print(1)', language: 'python' } },
    { kind: 'request', id: 6, method: 'link/open', params: { href: 'https://example.com/a' } },
    // The scheme is the host's to judge (src/host/chat/links.ts); the protocol only bounds the string.
    {
      kind: 'request',
      id: 7,
      method: 'link/open',
      params: { href: `https://example.com/${'a'.repeat(MAX_HREF - 20)}` },
    },
  ];
  for (const f of frames) assert.deepEqual(parseWebviewMessage(f), { ok: true, value: f }, JSON.stringify(f));
});

test('chat: malformed new requests are rejected with the bad field', () => {
  const bad: [unknown, RegExp][] = [
    [{ kind: 'request', id: 1, method: 'chat/regenerate', params: { turnId: 3 } }, /params\.turnId: unexpected key/],
    [
      { kind: 'request', id: 1, method: 'chat/chip', params: { kind: 'history', enabled: true } },
      /params\.kind: expected one of workspace, file, selection/,
    ],
    [{ kind: 'request', id: 1, method: 'chat/chip', params: { kind: 'file' } }, /params\.enabled: expected boolean/],
    [
      { kind: 'request', id: 1, method: 'chat/chip', params: { kind: 'file', enabled: 'no' } },
      /params\.enabled: expected boolean/,
    ],
    [{ kind: 'request', id: 1, method: 'code/copy', params: {} }, /params\.code: expected string/],
    [
      { kind: 'request', id: 1, method: 'code/copy', params: { code: 'x'.repeat(MAX_CODE + 1) } },
      /params\.code: longer than/,
    ],
    [
      { kind: 'request', id: 1, method: 'code/open', params: { code: 'x', language: 'l'.repeat(65) } },
      /params\.language: longer than 64/,
    ],
    [
      { kind: 'request', id: 1, method: 'code/insert', params: { code: 'x', uri: 'file:///etc/passwd' } },
      /params\.uri: unexpected key/,
    ],
    [{ kind: 'request', id: 1, method: 'code/run', params: { code: 'rm -rf /' } }, /method: expected one of/],
    [{ kind: 'request', id: 1, method: 'link/open', params: {} }, /params\.href: expected string/],
    [
      { kind: 'request', id: 1, method: 'link/open', params: { href: 42 } },
      /params\.href: expected string, got number/,
    ],
    [
      { kind: 'request', id: 1, method: 'link/open', params: { href: ['https://a.example'] } },
      /params\.href: expected string, got array/,
    ],
    [{ kind: 'request', id: 1, method: 'link/open', params: { href: '' } }, /params\.href: shorter than 1/],
    [
      { kind: 'request', id: 1, method: 'link/open', params: { href: `https://a.example/${'a'.repeat(MAX_HREF)}` } },
      /params\.href: longer than 8192/,
    ],
    [
      { kind: 'request', id: 1, method: 'link/open', params: { href: 'https://a.example', target: '_blank' } },
      /params\.target: unexpected key/,
    ],
    [{ kind: 'request', id: 1, method: 'link/open', params: 'https://a.example' }, /params: expected object/],
  ];
  for (const [f, why] of bad) {
    const r = parseWebviewMessage(f);
    assert.equal(r.ok, false, JSON.stringify(f).slice(0, 80));
    assert.match(r.ok ? '' : r.error, why);
  }
});

test('chat: chat/context events and the new responses pass; malformed ones are rejected', () => {
  const good = [
    { kind: 'event', topic: 'chat/context', data: { chips, meter } },
    {
      kind: 'event',
      topic: 'chat/context',
      data: { chips: [], meter: { used: 0, window: 0, reserved: 512, level: 'ok', leftOut: [] } },
    },
    {
      kind: 'event',
      topic: 'chat/turn',
      data: { id: 1, role: 'assistant', text: 'hi', status: 'done', origin: 'chat' },
    },
    { kind: 'response', id: 1, ok: true, method: 'chat/regenerate', result: { turnId: 4, status: 'done' } },
    { kind: 'response', id: 2, ok: true, method: 'code/open', result: {} },
    { kind: 'response', id: 3, ok: false, method: 'code/insert', error: 'open an editor first' },
    { kind: 'response', id: 4, ok: true, method: 'link/open', result: { opened: false } },
    {
      kind: 'response',
      id: 5,
      ok: false,
      method: 'link/open',
      error: 'link not opened: javascript: links are not opened',
    },
  ];
  for (const f of good) assert.deepEqual(parseHostMessage(f), { ok: true, value: f }, JSON.stringify(f));
  const bad: [unknown, RegExp][] = [
    [{ kind: 'event', topic: 'chat/context', data: { chips } }, /data\.meter: expected object/],
    [
      { kind: 'event', topic: 'chat/context', data: { chips, meter: { ...meter, level: 'red' } } },
      /data\.meter\.level: expected one of ok, warn, over/,
    ],
    [
      { kind: 'event', topic: 'chat/context', data: { chips, meter: { ...meter, used: -1 } } },
      /data\.meter\.used: -1 is below 0/,
    ],
    [
      { kind: 'event', topic: 'chat/context', data: { chips: [{ ...chips[0], tokens: 1.5 }], meter } },
      /data\.chips\[0\]\.tokens: expected an integer/,
    ],
    [
      { kind: 'event', topic: 'chat/context', data: { chips: [{ ...chips[0], html: '<b>' }], meter } },
      /data\.chips\[0\]\.html: unexpected key/,
    ],
    [
      { kind: 'event', topic: 'chat/context', data: { chips: [...chips, chips[0]], meter } },
      /data\.chips: more than 3 items/,
    ],
    [
      {
        kind: 'event',
        topic: 'chat/turn',
        data: { id: 1, role: 'assistant', text: '', status: 'done', origin: 'web' },
      },
      /data\.origin: expected one of chat, command/,
    ],
    [
      { kind: 'response', id: 1, ok: true, method: 'chat/chip', result: { enabled: true } },
      /result\.enabled: unexpected key/,
    ],
    [{ kind: 'response', id: 1, ok: true, method: 'link/open', result: {} }, /result\.opened: expected boolean/],
  ];
  for (const [f, why] of bad) {
    const r = parseHostMessage(f);
    assert.equal(r.ok, false, JSON.stringify(f).slice(0, 80));
    assert.match(r.ok ? '' : r.error, why);
  }
});
