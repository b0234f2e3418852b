// GET / with `demo: true` (`pushwire serve --demo`): a chat room and a
// per-user notification panel on the browser client, plain HTML/CSS/JS
// served as is. `?transport=websocket|sse|poll` forces a transport,
// `?name=alice` picks the user, `?maxDelay=ms` caps the reconnect backoff.

export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pushwire demo</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.4 system-ui, sans-serif; background: #f6f8fa; color: #1f2328; }
  header { display: flex; align-items: center; gap: .75rem; padding: .75rem 1rem; background: #24292f; color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
  #transport { padding: .2rem .6rem; border-radius: 1rem; font-size: .85rem; font-weight: 600; background: #6e7781; color: #fff; }
  #transport[data-transport="websocket"] { background: #1a7f37; }
  #transport[data-transport="sse"] { background: #0969da; }
  #transport[data-transport="poll"] { background: #bc4c00; }
  main { display: grid; gap: 1rem; padding: 1rem; max-width: 60rem; margin: 0 auto; grid-template-columns: 2fr 1fr; }
  @media (max-width: 40rem) { main { grid-template-columns: 1fr; } }
  section { background: #fff; border: 1px solid #d0d7de; border-radius: .5rem; padding: .75rem; display: flex; flex-direction: column; min-height: 12rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  ol { list-style: none; margin: 0; padding: 0; flex: 1; overflow-y: auto; max-height: 50vh; }
  li { padding: .25rem 0; border-bottom: 1px solid #eaeef2; word-wrap: break-word; }
  li b { color: #0969da; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  input { flex: 1; min-width: 0; font: inherit; padding: .4rem .6rem; border: 1px solid #d0d7de; border-radius: .4rem; }
  button { font: inherit; padding: .4rem .9rem; border: 0; border-radius: .4rem; background: #1f883d; color: #fff; }
  code { font-size: .8rem; word-break: break-all; background: #f6f8fa; padding: .2rem; display: block; margin-top: .5rem; }
</style>
</head>
<body>
<header><h1>pushwire demo</h1><span id="me"></span><span id="transport" data-transport="offline">offline</span></header>
<main>
  <section>
    <h2>Chat room</h2>
    <ol id="chat"></ol>
    <form id="say"><input id="text" placeholder="Say something" autocomplete="off" required><button>Send</button></form>
  </section>
  <section>
    <h2>Notifications for you</h2>
    <ol id="notes"></ol>
    <p>Send yourself one from a backend:</p>
    <code id="curl"></code>
  </section>
</main>
<script type="module">
  import { connect } from './client.js';
  const params = new URLSearchParams(location.search);
  const name = params.get('name') || 'guest-' + Math.random().toString(36).slice(2, 6);
  const transports = params.get('transport') ? [params.get('transport')] : undefined;
  const $ = (id) => document.getElementById(id);
  $('me').textContent = name;
  $('curl').textContent = "curl -d '" + JSON.stringify({ uid: name, event: 'note', data: 'Hello ' + name }) + "' " + new URL('publish', location.href);
  const add = (list, who, text) => {
    const item = document.createElement('li');
    if (who) { const b = document.createElement('b'); b.textContent = who + ': '; item.append(b); }
    item.append(typeof text === 'string' ? text : JSON.stringify(text));
    $(list).append(item);
    item.scrollIntoView({ block: 'nearest' });
  };
  const maxDelayMs = Number(params.get('maxDelay')) || undefined;
  const client = connect(new URL('./', location.href).href, { channels: ['demo:chat'], uid: name, transports, maxDelayMs });
  window.pushwire = client;
  const show = (transport) => { $('transport').dataset.transport = transport; $('transport').textContent = transport; };
  client.on('open', ({ transport }) => show(transport));
  client.on('close', () => show('offline'));
  client.on('gap', () => add('chat', '', '(some older messages are no longer available)'));
  client.on('message', (message) => {
    if (message.channel === 'demo:chat') add('chat', message.data.from, message.data.text);
    else add('notes', message.event || '', message.data);
  });
  $('say').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('text').value.trim();
    if (text) client.publish('demo:chat', { from: name, text }, 'chat').catch((error) => add('chat', '', 'not sent: ' + error.message));
    $('text').value = '';
  });
</script>
</body>
</html>
`;
