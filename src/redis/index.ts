// pushwire's Redis client: what the Redis broker needs and no more — a
// sans-I/O RESP2/RESP3 reader and encoder (resp.ts), URLs (url.ts), a command
// connection with pipelining and scripts (redis-client.ts) and a pub/sub
// connection that resubscribes after reconnecting (subscriber.ts).
// spec-notes.md, "RESP (Redis protocol)", maps the specs to these files.
export { RedisClient, RedisScript, type RedisClientEvents } from './redis-client.js';
export { DEFAULT_PING_INTERVAL, RedisSubscriber, type RedisSubscriberEvents, type RedisSubscriberOptions } from './subscriber.js';
export {
  DEFAULT_COMMAND_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_RETRY_DELAY,
  DEFAULT_RETRY_DELAY,
  type ReconnectInfo,
  type RedisOptions,
} from './connection.js';
export {
  DEFAULT_MAX_AGGREGATE_LENGTH,
  DEFAULT_MAX_BULK_LENGTH,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_LINE_LENGTH,
  NEED_MORE,
  RespPush,
  RespReader,
  encodeCommand,
  type RedisArgument,
  type RespReaderOptions,
  type RespValue,
} from './resp.js';
export { DEFAULT_REDIS_PORT, parseRedisUrl, type RedisEndpoint } from './url.js';
export { backoffDelay } from './backoff.js';
export {
  RedisArgumentError,
  RedisConfigError,
  RedisConnectionError,
  RedisReplyError,
  RespProtocolError,
  type RedisConnectionErrorCode,
  type RespProtocolErrorCode,
} from './errors.js';
