// The public surface as a tested list (python-websockets' test_exports): a
// name that appears in, or disappears from, an entry point fails here, so a
// change of API is always a decision. Update the list when it is one.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.js';
import * as protocol from '../../src/protocol/index.js';

// The browser client is imported by URL, not by a literal path: tsc would
// otherwise check it in this Node-typed project, without the DOM it needs.
const client = (await import(new URL('../../src/client/pushwire-client.ts', import.meta.url).href)) as Record<string, unknown>;

/** Entry points of the package (package.json "exports") and the runtime names each exports, sorted. */
const ENTRIES = {
  // "."
  'src/index.ts': {
    module: root,
    names: [
      'CLOSED', 'CLOSING', 'CONNECTING', 'ClientHandshakeError', 'CloseCode', 'CommandError', 'ConfigError', 'FINAL_CLOSE_CODES',
      'HandshakeError', 'HttpError', 'Hub', 'InvalidStateError', 'OPEN', 'PreparedMessage', 'ProtocolError',
      'PushServer', 'TokenError', 'WebSocket', 'WebSocketServer', 'createServer', 'isFinalCloseCode',
      'protocol', // deprecated: the same as "./protocol"
      'refusalCloseCode', 'setDeflateConcurrency', 'signToken', 'verifyToken',
    ],
  },
  // "./protocol"
  'src/protocol/index.ts': {
    module: protocol,
    names: [
      'ClientHandshakeError', 'CloseCode', 'Connection', 'DEFAULT_MAX_FRAGMENTS', 'DEFAULT_MAX_HEADER_COUNT',
      'DEFAULT_MAX_HEADER_SIZE', 'DEFAULT_MAX_PAYLOAD', 'DEFAULT_MAX_URL_LENGTH', 'FIN', 'FrameParser',
      'HandshakeError', 'HeadReader', 'InvalidStateError', 'MAX_CLOSE_REASON_BYTES', 'MAX_CONTROL_PAYLOAD',
      'MIN_ZLIB_WINDOW_BITS', 'Opcode', 'PERMESSAGE_DEFLATE', 'ProtocolError', 'RSV1', 'RSV2', 'RSV3',
      'Utf8Validator', 'WEBSOCKET_GUID', 'WEBSOCKET_VERSION', 'acceptDeflateResponse', 'acceptKey',
      'acceptResponse', 'applyMask', 'clientRequest', 'decodeClosePayload', 'deflateOffer', 'encodeClosePayload',
      'encodeFrame', 'encodeSseComment', 'encodeSseEvent', 'encodeSseRetry', 'errorResponse', 'headerLength',
      'headerValue', 'isControlOpcode', 'isKnownOpcode', 'isValidCloseCode', 'isValidUtf8', 'keyFromNonce',
      'maskKey', 'negotiateDeflate', 'parseExtensions', 'parseProtocolList', 'parseRequestHead',
      'parseResponseHead', 'serializeHead', 'splitList', 'validateUpgradeRequest', 'verifyServerResponse',
      'writeFrameHeader',
    ],
  },
  // "./client"
  'src/client/pushwire-client.ts': {
    module: client,
    names: ['PushClient', 'PushError', 'backoffDelay', 'connect'],
  },
};

describe('exports', () => {
  for (const [file, { module, names }] of Object.entries(ENTRIES)) {
    it(`${file} exports exactly the listed runtime names`, () => {
      expect(Object.keys(module).sort()).toEqual(names);
    });
  }

  it('the deprecated `protocol` namespace of the root entry is the ./protocol entry', () => {
    expect(Object.keys(root.protocol).sort()).toEqual(ENTRIES['src/protocol/index.ts'].names);
  });

  it('every exported function and class has a doc comment', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const files = Object.keys(ENTRIES).map((file) => `${root}${file}`);
    // Only declarations and their comments are read, never types: without the
    // default lib and @types the program loads in a fraction of the time.
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
      noLib: true,
      types: [],
    });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    for (const file of files) {
      const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      for (const exported of checker.getExportsOfModule(moduleSymbol)) {
        const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        if (!(target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class))) continue;
        if (ts.displayPartsToString(target.getDocumentationComment(checker)).trim() === '') {
          undocumented.push(`${file.slice(root.length)}: ${exported.name}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });
});
