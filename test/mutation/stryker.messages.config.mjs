// @ts-check
import { strykerOptions } from "./stryker.base.mjs";

/** Messages: the codec, the inbound queue behind receive(), and the listener/stream pipeline. */
export default strykerOptions("messages", [
  "src/codec/message-codec.ts",
  "src/connection/inbound-queue.ts",
  "src/connection/mailbox.ts",
  "src/connection/query.ts",
  "src/handlers/pipeline.ts",
]);
