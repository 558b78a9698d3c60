/**
 * The per-connection resource budget: what one connection, however hostile its client, can make
 * the server hold. With the defaults (1 MiB `maxPayload`, 64 messages / 1 MiB inbound, 1 MiB
 * outbound) the worst case is stated in the README's limits table and held by
 * `test/budget.test.ts` against a real server process.
 */

/**
 * What one queued outbound frame costs beyond its payload, in bytes, for the high-water mark.
 * Measured: a queued write holds its Buffer, ws's frame header, node's write request and
 * callback — about 220 bytes in RSS (500 000 empty frames pinned ~110 MiB). Rounded up, so
 * `highWaterMark / FRAME_COST` (4 096 at 1 MiB) bounds the frames a client that never reads can
 * make us queue.
 */
export const FRAME_COST = 256;
