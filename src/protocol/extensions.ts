// RFC 6455 §9.1 Sec-WebSocket-Extensions syntax, and RFC 7692 §5–§7
// permessage-deflate negotiation: parameters, validation, offers, responses.
// No I/O: strings in, agreed parameters and header values out.
import { ClientHandshakeError } from './errors.js';
import { TOKEN } from './http-head.js';

/** One extension in a Sec-WebSocket-Extensions list: a name and its parameters, in order. */
export interface ExtensionItem {
  name: string;
  /** Each parameter with its value, or `true` when it has none. Repeats are kept. */
  params: [string, string | true][];
}

/**
 * Parse a Sec-WebSocket-Extensions value (§9.1):
 *   extension-list = 1#extension; extension = name *( ";" param );
 *   param = token [ "=" ( token / quoted-string ) ].
 * Returns null for a malformed value; never throws.
 */
export function parseExtensions(value: string): ExtensionItem[] | null {
  const items: ExtensionItem[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < value.length && TOKEN.test(value[i])) i++;
    return value.slice(start, i);
  };
  for (;;) {
    skipSpace();
    const name = readToken();
    if (name === '') return null;
    const item: ExtensionItem = { name, params: [] };
    skipSpace();
    while (value[i] === ';') {
      i++;
      skipSpace();
      const param = readToken();
      if (param === '') return null;
      skipSpace();
      let paramValue: string | true = true;
      if (value[i] === '=') {
        i++;
        skipSpace();
        if (value[i] === '"') {
          // quoted-string; RFC 6455 §9.1: its unescaped value must be a token.
          i++;
          let text = '';
          while (i < value.length && value[i] !== '"') {
            if (value[i] === '\\') i++;
            if (i >= value.length) return null;
            text += value[i++];
          }
          if (value[i] !== '"') return null;
          i++;
          if (!TOKEN.test(text)) return null;
          paramValue = text;
        } else {
          paramValue = readToken();
          if (paramValue === '') return null;
        }
        skipSpace();
      }
      item.params.push([param, paramValue]);
    }
    items.push(item);
    if (i === value.length) return items;
    if (value[i] !== ',') return null;
    i++;
  }
}

/** Window sizes RFC 7692 §7.1.2 allows: a decimal 8–15 without leading zeros. */
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/** The parameters both ends agreed on for permessage-deflate (RFC 7692 §7.1). */
export interface DeflateParams {
  /** The server resets its compressor after every message (§7.1.1.1). */
  serverNoContextTakeover: boolean;
  /** The client resets its compressor after every message (§7.1.1.2). */
  clientNoContextTakeover: boolean;
  /** LZ77 window of the server's compressor, 2^bits bytes (§7.1.2.1). */
  serverMaxWindowBits: number;
  /** LZ77 window of the client's compressor (§7.1.2.2). */
  clientMaxWindowBits: number;
}

/** What this end is willing to use; every field optional. */
export interface DeflateOptions {
  /** Ask for (client) or impose (server) a fresh server compressor per message. */
  serverNoContextTakeover?: boolean;
  /** Ask for (client) or impose (server) a fresh client compressor per message. */
  clientNoContextTakeover?: boolean;
  /** Largest server window, 9–15. zlib cannot compress with an 8-bit window. */
  serverMaxWindowBits?: number;
  /** Largest client window, 9–15. */
  clientMaxWindowBits?: number;
}

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/**
 * zlib's raw deflate cannot keep to an 8-bit window (it silently uses 9). An
 * end held to 8 bits therefore accepts, and sends its messages uncompressed —
 * RFC 7692 lets any message go uncompressed (§6).
 */
export const MIN_ZLIB_WINDOW_BITS = 9;

/**
 * Read one offer's parameters (§7.1). Returns null when the offer must be
 * declined: an unknown parameter, a repeated one, or an invalid value
 * (§5.1 "MUST decline").
 */
function readOfferParams(item: ExtensionItem): Map<string, string | true> | null {
  const params = new Map<string, string | true>();
  for (const [name, value] of item.params) {
    if (params.has(name)) return null;
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return null;
        break;
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS.test(value)) return null;
        break;
      case 'client_max_window_bits':
        if (value !== true && !WINDOW_BITS.test(value)) return null;
        break;
      default:
        return null;
    }
    params.set(name, value);
  }
  return params;
}

/**
 * Server side (RFC 7692 §5, §7.1): accept the first acceptable
 * permessage-deflate offer in the client's header and build the response
 * value, or return null to decline them all (the connection then runs
 * uncompressed). Never throws.
 */
export function negotiateDeflate(
  header: string | undefined,
  options: DeflateOptions = {},
): { params: DeflateParams; response: string } | null {
  if (header === undefined) return null;
  const items = parseExtensions(header);
  if (!items) return null;
  const ownMaxBits = options.serverMaxWindowBits ?? 15;
  for (const item of items) {
    if (item.name !== PERMESSAGE_DEFLATE) continue;
    const offer = readOfferParams(item);
    if (!offer) continue;
    // §7.1.2.1: we must compress within the window the client asks for (8 bits: we send uncompressed).
    const requestedServerBits = offer.get('server_max_window_bits');
    const serverBits = Math.min(ownMaxBits, requestedServerBits === undefined ? 15 : Number(requestedServerBits));
    // §7.1.2.2: we may only limit the client's window if it said it can be limited.
    const clientOffer = offer.get('client_max_window_bits');
    let clientBits = 15;
    if (clientOffer !== undefined) {
      clientBits = Math.min(clientOffer === true ? 15 : Number(clientOffer), options.clientMaxWindowBits ?? 15);
    } else if (options.clientMaxWindowBits !== undefined && options.clientMaxWindowBits < 15) {
      continue; // we need a smaller client window than this offer lets us ask for
    }
    const params: DeflateParams = {
      serverNoContextTakeover: offer.has('server_no_context_takeover') || options.serverNoContextTakeover === true,
      clientNoContextTakeover: offer.has('client_no_context_takeover') || options.clientNoContextTakeover === true,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    };
    const response = [PERMESSAGE_DEFLATE];
    if (params.serverNoContextTakeover) response.push('server_no_context_takeover');
    if (params.clientNoContextTakeover) response.push('client_no_context_takeover');
    if (requestedServerBits !== undefined || serverBits < 15) response.push(`server_max_window_bits=${serverBits}`);
    if (clientOffer !== undefined && (clientOffer !== true || clientBits < 15)) {
      response.push(`client_max_window_bits=${clientBits}`);
    }
    return { params, response: response.join('; ') };
  }
  return null;
}

/** Client side: the offer to send (RFC 7692 §5). */
export function deflateOffer(options: DeflateOptions = {}): string {
  const offer = [PERMESSAGE_DEFLATE];
  if (options.serverNoContextTakeover) offer.push('server_no_context_takeover');
  if (options.clientNoContextTakeover) offer.push('client_no_context_takeover');
  if (options.serverMaxWindowBits !== undefined) offer.push(`server_max_window_bits=${options.serverMaxWindowBits}`);
  // We can always compress with a smaller window, so say so (§7.1.2.2).
  offer.push(
    options.clientMaxWindowBits !== undefined
      ? `client_max_window_bits=${options.clientMaxWindowBits}`
      : 'client_max_window_bits',
  );
  return offer.join('; ');
}

/**
 * Client side: check the server's response to our offer (RFC 7692 §5, §7.1)
 * and return what was agreed. Throws a ClientHandshakeError when the
 * response is not one the offer allows ("the client MUST _Fail the WebSocket
 * Connection_").
 */
export function acceptDeflateResponse(header: string, options: DeflateOptions = {}): DeflateParams {
  const items = parseExtensions(header);
  if (!items || items.length !== 1 || items[0].name !== PERMESSAGE_DEFLATE) {
    throw new ClientHandshakeError('PW_ERR_UNEXPECTED_EXTENSION', `server selected extensions we did not offer: ${header}`, 101);
  }
  const params = new Map<string, string | true>();
  for (const [name, value] of items[0].params) {
    if (params.has(name)) throw new ClientHandshakeError('PW_ERR_INVALID_EXTENSION', `permessage-deflate parameter ${name} repeated`, 101);
    params.set(name, value);
  }
  const result: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: options.clientMaxWindowBits ?? 15,
  };
  for (const [name, value] of params) {
    const bits = value === true ? NaN : Number(value);
    const validBits = value !== true && WINDOW_BITS.test(value);
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) throw invalid(name);
        result.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) throw invalid(name);
        result.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        // The server may shrink its own window; never beyond what we asked for.
        if (!validBits || bits > (options.serverMaxWindowBits ?? 15)) throw invalid(name);
        result.serverMaxWindowBits = bits;
        break;
      case 'client_max_window_bits':
        // §7.1.2.2: must have a value, and must not exceed what we offered.
        if (!validBits || bits > (options.clientMaxWindowBits ?? 15)) throw invalid(name);
        result.clientMaxWindowBits = bits; // 8: we will send uncompressed
        break;
      default:
        throw new ClientHandshakeError('PW_ERR_INVALID_EXTENSION', `unknown permessage-deflate parameter ${name}`, 101);
    }
  }
  if (options.serverNoContextTakeover && !result.serverNoContextTakeover) {
    throw new ClientHandshakeError('PW_ERR_INVALID_EXTENSION', 'server ignored server_no_context_takeover', 101);
  }
  return result;
}

function invalid(name: string): ClientHandshakeError {
  return new ClientHandshakeError('PW_ERR_INVALID_EXTENSION', `invalid permessage-deflate parameter ${name}`, 101);
}
