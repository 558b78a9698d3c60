/** Channels: broadcast across connections, and across processes through Redis (the Redis backends are in `statewire/redis`, so that ioredis loads only where they are used). */
export { createChannels } from "./channels.js";
export type { Channels, ChannelsOptions, ChannelsStats } from "./channels.js";
export type { BackendHealth, BackendSettings, BackendSink, ChannelBackend, ChannelMessage } from "./backend.js";
export { compareIds } from "./backend.js";
export { memoryBackend } from "./memory.js";
export type { MemoryBackendOptions, MemoryChannelBackend, MemoryRetention } from "./memory.js";
export { serialize } from "./payload.js";
export type { Envelope, Payload } from "./payload.js";
export { ChannelSocket } from "./socket.js";
export type { BroadcastOptions, ExceptTarget, JoinOptions, RoomApi } from "./membership.js";
export { Subscription } from "./subscription.js";
export type { SubscribeOptions } from "./subscription.js";
export { BacklogOverflowError } from "./subscriber.js";
export type { BacklogOptions, BacklogStrategy } from "./subscriber.js";
export { BackendUnavailableError, ChannelsClosedError, UnknownChannelError } from "./errors.js";
export type { ChannelRouteOptions } from "./routes.js";
