/**
 * `statewire/redis`: the Redis channel backends. A separate entry so that only apps that use
 * Redis load ioredis; the rest of channels is in the root entry and in `statewire/channels`.
 */
export { redisPubSubBackend } from "./channels/redis-pubsub.js";
export type { RedisPubSubOptions } from "./channels/redis-pubsub.js";
export { redisStreamsBackend } from "./channels/redis-streams.js";
export type { RedisStreamsOptions } from "./channels/redis-streams.js";
export type { RedisConnectionOptions } from "./channels/redis-connection.js";
export { redisPresence } from "./channels/presence-redis.js";
export type { RedisPresenceOptions } from "./channels/presence-redis.js";
