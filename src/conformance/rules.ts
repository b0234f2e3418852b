// The RFC 6455 sentences the conformance tool judges by. Each rule names its
// section and quotes the sentence, so a verdict can cite what was broken.

/** One requirement of RFC 6455, quoted. */
export interface Rule {
  /** Stable identifier, e.g. `rsv-bits` (safe to branch on). */
  id: RuleId;
  /** Section, e.g. `5.2`, of RFC 6455 unless `rfc` says otherwise. */
  section: string;
  /** The RFC quoted: 6455 (the default) or 7692 (permessage-deflate). */
  rfc?: 6455 | 7692;
  /** The sentence, quoted from the RFC (trimmed to the requirement). */
  text: string;
}

export type RuleId =
  | 'rsv-bits'
  | 'unknown-opcode'
  | 'client-mask'
  | 'server-mask'
  | 'length-msb'
  | 'minimal-length'
  | 'control-length'
  | 'control-fragmented'
  | 'continuation-without-start'
  | 'interleaved-message'
  | 'text-utf8'
  | 'close-body-code'
  | 'close-code-valid'
  | 'close-reason-utf8'
  | 'close-reply'
  | 'close-tcp'
  | 'no-data-after-close'
  | 'ping-pong'
  | 'pong-identical'
  | 'pong-latest-only'
  | 'pong-unsolicited'
  | 'fail-close-frame'
  | 'fail-stop-processing'
  | 'message-too-big'
  | 'echo'
  | 'handshake'
  | 'extension-not-offered'
  | 'client-frame-unmasked'
  | 'server-frame-masked'
  | 'compressed-bit'
  | 'deflate-data'
  | 'deflate-negotiation';

/** Every rule, by id. */
export const RULES: Record<RuleId, Rule> = {
  'rsv-bits': {
    id: 'rsv-bits',
    section: '5.2',
    text: 'If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_.',
  },
  'unknown-opcode': {
    id: 'unknown-opcode',
    section: '5.2',
    text: 'If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.',
  },
  'client-mask': {
    id: 'client-mask',
    section: '5.1',
    text: 'The server MUST close the connection upon receiving a frame that is not masked. In this case, a server MAY send a Close frame with a status code of 1002 (protocol error).',
  },
  'client-frame-unmasked': {
    id: 'client-frame-unmasked',
    section: '5.1',
    text: 'To avoid confusing network intermediaries (such as intercepting proxies) and for security reasons that are further discussed in Section 10.3, a client MUST mask all frames that it sends to the server (see Section 5.3 for further details).',
  },
  'server-frame-masked': {
    id: 'server-frame-masked',
    section: '5.1',
    text: 'A client MUST close a connection if it detects a masked frame. In this case, it MAY use the status code 1002 (protocol error) as defined in Section 7.4.1.',
  },
  'server-mask': {
    id: 'server-mask',
    section: '5.1',
    text: 'A server MUST NOT mask any frames that it sends to the client.',
  },
  'length-msb': {
    id: 'length-msb',
    section: '5.2',
    text: 'If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.',
  },
  'minimal-length': {
    id: 'minimal-length',
    section: '5.2',
    text: "Note that in all cases, the minimal number of bytes MUST be used to encode the length, for example, the length of a 124-byte-long string can't be encoded as the sequence 126, 0, 124.",
  },
  'control-length': {
    id: 'control-length',
    section: '5.5',
    text: 'All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.',
  },
  'control-fragmented': {
    id: 'control-fragmented',
    section: '5.4',
    text: 'Control frames themselves MUST NOT be fragmented.',
  },
  'continuation-without-start': {
    id: 'continuation-without-start',
    section: '5.4',
    text: 'A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0.',
  },
  'interleaved-message': {
    id: 'interleaved-message',
    section: '5.4',
    text: 'The fragments of one message MUST NOT be interleaved between the fragments of another message unless an extension has been negotiated that can interpret the interleaving.',
  },
  'text-utf8': {
    id: 'text-utf8',
    section: '8.1',
    text: 'When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.',
  },
  'close-body-code': {
    id: 'close-body-code',
    section: '5.5.1',
    text: 'If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code with value /code/ defined in Section 7.4.',
  },
  'close-code-valid': {
    id: 'close-code-valid',
    section: '7.4',
    text: '1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint. (Likewise 1006 and 1015; 1004 is reserved; "Status codes in the range 0-999 are not used", §7.4.2; 1016-2999 are reserved for this protocol and its extensions, and nothing above 4999 is defined.)',
  },
  'close-reason-utf8': {
    id: 'close-reason-utf8',
    section: '5.5.1',
    text: 'Following the 2-byte integer, the body MAY contain UTF-8-encoded data with value /reason/, the interpretation of which is not defined by this specification.',
  },
  'close-reply': {
    id: 'close-reply',
    section: '5.5.1',
    text: 'If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response. (When sending a Close frame in response, the endpoint typically echos the status code it received.)',
  },
  'close-tcp': {
    id: 'close-tcp',
    section: '5.5.1',
    text: 'After both sending and receiving a Close message, an endpoint considers the WebSocket connection closed and MUST close the underlying TCP connection. The server MUST close the underlying TCP connection immediately.',
  },
  'no-data-after-close': {
    id: 'no-data-after-close',
    section: '5.5.1',
    text: 'The application MUST NOT send any more data frames after sending a Close frame.',
  },
  'ping-pong': {
    id: 'ping-pong',
    section: '5.5.2',
    text: 'Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame.',
  },
  'pong-identical': {
    id: 'pong-identical',
    section: '5.5.3',
    text: 'A Pong frame sent in response to a Ping frame must have identical "Application data" as found in the message body of the Ping frame being replied to.',
  },
  'pong-latest-only': {
    id: 'pong-latest-only',
    section: '5.5.3',
    text: 'If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in response to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for only the most recently processed Ping frame.',
  },
  'pong-unsolicited': {
    id: 'pong-unsolicited',
    section: '5.5.3',
    text: 'A Pong frame MAY be sent unsolicited. This serves as a unidirectional heartbeat. A response to an unsolicited Pong frame is not expected.',
  },
  'fail-close-frame': {
    id: 'fail-close-frame',
    section: '7.1.7',
    text: 'If _The WebSocket Connection is Established_ prior to the point where the endpoint is required to _Fail the WebSocket Connection_, the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4) before proceeding to _Close the WebSocket Connection_.',
  },
  'fail-stop-processing': {
    id: 'fail-stop-processing',
    section: '7.1.7',
    text: 'An endpoint MUST NOT continue to attempt to process data (including a responding Close frame) from the remote endpoint after being instructed to _Fail the WebSocket Connection_.',
  },
  'message-too-big': {
    id: 'message-too-big',
    section: '10.4',
    text: 'Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits. (1009: a message that is too big for it to process, §7.4.1.)',
  },
  echo: {
    id: 'echo',
    section: '5.4',
    text: 'A fragmented message is conceptually equivalent to a single larger message whose payload is equal to the concatenation of the payloads of the fragments in order. (The server under test echoes every message: Autobahn\'s convention.)',
  },
  handshake: {
    id: 'handshake',
    section: '4.2.2',
    text: 'If the server chooses to accept the incoming connection, it MUST reply with a valid HTTP response: a Status-Line with status code 101, |Upgrade: websocket|, |Connection: Upgrade| and |Sec-WebSocket-Accept|.',
  },
  'compressed-bit': {
    id: 'compressed-bit',
    rfc: 7692,
    section: '6.1',
    text: 'An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and non-first fragments of a data message. An endpoint receiving such a frame MUST _Fail the WebSocket Connection_.',
  },
  'deflate-data': {
    id: 'deflate-data',
    rfc: 7692,
    section: '7.2.2',
    text: 'An endpoint uses the following algorithm to decompress a message: 1. Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message. 2. Decompress the resulting data using DEFLATE.',
  },
  'deflate-negotiation': {
    id: 'deflate-negotiation',
    rfc: 7692,
    section: '7.1',
    text: 'A server accepts an extension negotiation offer with this parameter by including the "server_max_window_bits" extension parameter in the extension negotiation response to send back to the client with the same or smaller value as the offer. (Likewise server_no_context_takeover, §7.1.1.1; client_max_window_bits only if offered, §7.1.2.2.)',
  },
  'extension-not-offered': {
    id: 'extension-not-offered',
    section: '9.1',
    text: 'A server MUST NOT respond with any extension not requested by the client.',
  },
};

/** `§5.2 "If an unknown opcode …"` — a rule as one citation line. */
export function cite(id: RuleId, maxText = 110): string {
  const rule = RULES[id];
  const text = rule.text.length > maxText ? `${rule.text.slice(0, maxText - 1)}…` : rule.text;
  return `RFC ${rule.rfc ?? 6455} §${rule.section}: "${text}"`;
}
