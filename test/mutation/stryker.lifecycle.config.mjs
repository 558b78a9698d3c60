// @ts-check
import { strykerOptions } from "./stryker.base.mjs";

/** The connection lifecycle: the machine, its runner, close codes, and the handshake checks. */
export default strykerOptions("lifecycle", [
  "machines/connection.ts",
  "src/connection/lifecycle.ts",
  "src/wire/close-codes.ts",
  "src/transport/handshake.ts",
]);
