/**
 * How every example starts when run directly (`PORT=8000 node --conditions=statewire-source --import tsx examples/echo.ts`): listen on
 * PORT / HOST, print `listening on http://HOST:PORT`, and shut down gracefully (1001 to every
 * client) on SIGINT / SIGTERM. Imported by a test instead, an example does nothing on its own.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { App, ServerAddress } from "statewire";

/** Whether the module at `moduleUrl` is the program node was started with. */
export function isMain(moduleUrl: string): boolean {
  const started = process.argv[1];
  if (started === undefined) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

export async function serve(app: App, defaultPort = 8000): Promise<ServerAddress> {
  const address = await app.listen({ port: Number(process.env.PORT ?? defaultPort), host: process.env.HOST ?? "127.0.0.1" });
  console.log(`listening on ${address.url}`);
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return address;
}
