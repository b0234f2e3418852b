// An HTTP/1.1 message head (start line + header fields) read from raw bytes,
// enough for the WebSocket opening handshake (RFC 6455 §4.1, §4.2.1), with the
// syntax of RFC 9112 §2–§5 and RFC 9110 §5. Bytes in, a parsed head out; no I/O.
import { HandshakeError } from './errors.js';

/** Limits on a head, enforced while reading it. */
export interface HeadLimits {
  /** Largest head in bytes, start line and terminating blank line included. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Most header field lines. Default 100. */
  maxHeaderCount?: number;
  /** Longest request target (path and query) in bytes; longer is refused with 414. Default 8 KiB. */
  maxUrlLength?: number;
}

export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
export const DEFAULT_MAX_HEADER_COUNT = 100;
/** nginx's large_client_header_buffers default is 8k too. */
export const DEFAULT_MAX_URL_LENGTH = 8 * 1024;

/** Header fields by lower-case name; repeated fields are joined with ", " (RFC 9110 §5.3). */
export type HeaderMap = Record<string, string>;

export interface RequestHead {
  method: string;
  url: string;
  /** "1.1" for `HTTP/1.1`. */
  httpVersion: string;
  headers: HeaderMap;
}

export interface ResponseHead {
  httpVersion: string;
  status: number;
  statusText: string;
  headers: HeaderMap;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** RFC 9110 §5.6.2 token characters. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values must not hold CR, LF or NUL (RFC 9110 §5.5). */
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;
const HTTP_VERSION = /^HTTP\/(\d)\.(\d)$/;

/**
 * Collects bytes until a complete head has arrived. `push` returns the head
 * (without its final CRLF CRLF) and whatever bytes followed it, or null while
 * more input is needed. A head longer than `maxHeaderSize` throws a 431.
 */
export class HeadReader {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly maxHeaderSize: number;

  constructor(limits: HeadLimits = {}) {
    this.maxHeaderSize = limits.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  }

  push(chunk: Buffer): { head: string; rest: Buffer } | null {
    const searchFrom = Math.max(0, this.buffered.length - 3);
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(HEAD_END, searchFrom);
    // The head so far (no end yet) or the whole head must fit the limit.
    const headLength = end === -1 ? this.buffered.length : end + HEAD_END.length;
    if (headLength > this.maxHeaderSize) {
      throw new HandshakeError('PW_ERR_HEAD_TOO_LARGE', 431, `message head exceeds ${this.maxHeaderSize} bytes`);
    }
    if (end === -1) return null;
    // Header bytes are taken as ISO-8859-1, so obs-text survives unchanged (RFC 9110 §5.5).
    const head = this.buffered.toString('latin1', 0, end);
    const rest = this.buffered.subarray(headLength);
    this.buffered = Buffer.alloc(0);
    return { head, rest };
  }
}

/** Parse a request head (RFC 9112 §3). Malformed input throws a HandshakeError with status 400. */
export function parseRequestHead(head: string, limits: HeadLimits = {}): RequestHead {
  const lines = splitLines(head);
  if (tooManyFields(lines, limits)) {
    throw new HandshakeError('PW_ERR_TOO_MANY_HEADERS', 431, `more than ${maxHeaderCount(limits)} header fields`);
  }
  const parts = lines[0].split(' ');
  if (parts.length !== 3) throw badRequest('malformed request line');
  const [method, url, version] = parts;
  if (!TOKEN.test(method)) throw badRequest('malformed request method');
  if (url === '') throw badRequest('empty request target');
  // RFC 9112 §3: "A server that receives a request-target longer than any URI
  // it wishes to parse MUST respond with a 414 (URI Too Long) status code."
  const maxUrlLength = limits.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH;
  if (url.length > maxUrlLength) {
    throw new HandshakeError('PW_ERR_URI_TOO_LONG', 414, `request target longer than ${maxUrlLength} bytes`);
  }
  const match = HTTP_VERSION.exec(version);
  if (!match) throw badRequest('malformed HTTP version');
  return {
    method,
    url,
    httpVersion: `${match[1]}.${match[2]}`,
    headers: parseHeaderLines(lines, badRequest),
  };
}

/**
 * Parse a response head (RFC 9112 §4). Malformed input throws what
 * `makeError` builds (the client side reports its own error type).
 */
export function parseResponseHead(
  head: string,
  makeError: (message: string) => Error,
  limits: HeadLimits = {},
): ResponseHead {
  const lines = splitLines(head, makeError);
  if (tooManyFields(lines, limits)) throw makeError(`more than ${maxHeaderCount(limits)} header fields`);
  const statusLine = lines[0];
  const match = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw makeError('malformed status line');
  return {
    httpVersion: `${match[1]}.${match[2]}`,
    status: Number(match[3]),
    statusText: match[4] ?? '',
    headers: parseHeaderLines(lines, makeError),
  };
}

function maxHeaderCount(limits: HeadLimits): number {
  return limits.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT;
}

function tooManyFields(lines: string[], limits: HeadLimits): boolean {
  return lines.length - 1 > maxHeaderCount(limits);
}

function splitLines(head: string, makeError: (message: string) => Error = badRequest): string[] {
  const lines = head.split('\r\n');
  for (const line of lines) {
    // A bare CR or LF inside a line is a framing ambiguity (RFC 9112 §2.2): refuse it.
    if (line.includes('\r') || line.includes('\n')) throw makeError('bare CR or LF in head');
  }
  return lines;
}

function parseHeaderLines(lines: string[], makeError: (message: string) => Error): HeaderMap {
  const headers: HeaderMap = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    // RFC 9112 §5.2: obsolete line folding is rejected.
    if (line.startsWith(' ') || line.startsWith('\t')) throw makeError('obsolete line folding');
    const colon = line.indexOf(':');
    // RFC 9112 §5.1: no whitespace between the field name and the colon.
    if (colon <= 0) throw makeError('malformed header field');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw makeError(`malformed header field name`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (value.includes('\0')) throw makeError('NUL in header field value');
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

function badRequest(message: string): HandshakeError {
  return new HandshakeError('PW_ERR_MALFORMED_REQUEST', 400, message);
}

/** Split a comma-separated field value into its trimmed, non-empty elements (RFC 9110 §5.6.1). */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const items: string[] = [];
  for (const item of value.split(',')) {
    const trimmed = item.trim();
    if (trimmed !== '') items.push(trimmed);
  }
  return items;
}

/**
 * Serialize a head: a start line, header fields, and the blank line.
 * Refuses header names that are not tokens and values holding CR, LF or NUL,
 * so no caller can split a response.
 */
export function serializeHead(startLine: string, headers: Iterable<[string, string]>): string {
  let head = `${startLine}\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (FORBIDDEN_IN_VALUE.test(value)) {
      throw new TypeError(`invalid value for header ${name}`);
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}
