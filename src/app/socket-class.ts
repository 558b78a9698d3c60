/**
 * Which socket class handlers get, decided once when the app is created: a plugin may provide
 * one (channels' `ChannelSocket`), the app, a group or a route may name one, and each must
 * extend the plugins'. A conflict is an error then, never a silent override at run time.
 */
import type { SocketClass } from "../connection/socket-class.js";
import type { AnySocket } from "../connection/socket.js";
import type { Plugin } from "./plugin.js";

/** The app's socket classes disagree; `errorCode` is stable. */
export class SocketClassConflictError extends Error {
  override readonly name = "SocketClassConflictError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_SOCKET_CLASS_CONFLICT" as const;
}

const extendsClass = (derived: SocketClass, base: SocketClass): boolean => derived === base || derived.prototype instanceof base;
const className = (socketClass: SocketClass): string => (socketClass.name === "" ? "an anonymous class" : socketClass.name);

/** The socket class the plugins provide: the most derived one; two unrelated ones are a conflict. */
export function pluginSocketClass(plugins: readonly Plugin[]): SocketClass | undefined {
  let chosen: { readonly socketClass: SocketClass; readonly plugin: string } | undefined;
  for (const plugin of plugins) {
    const socketClass = plugin.socketClass;
    if (socketClass === undefined) continue;
    if (chosen === undefined || extendsClass(socketClass, chosen.socketClass)) chosen = { socketClass, plugin: plugin.name };
    else if (!extendsClass(chosen.socketClass, socketClass)) {
      throw new SocketClassConflictError(
        `The plugins "${chosen.plugin}" and "${plugin.name}" each provide a socket class (${className(chosen.socketClass)}, ${className(socketClass)}) and neither extends the other: a connection has one socket class. Use one of the plugins, or make one's class extend the other's`,
      );
    }
  }
  return chosen?.socketClass;
}

/**
 * The socket class a layer names, checked against the plugins': it must be theirs or extend it
 * (`class MySocket extends channels.socketClass`), or handlers relying on the plugin would break.
 */
export function refinedSocketClass(named: SocketClass | undefined, fromPlugins: SocketClass | undefined, where: string): SocketClass | undefined {
  if (named === undefined) return fromPlugins;
  if (fromPlugins !== undefined && !extendsClass(named, fromPlugins)) {
    throw new SocketClassConflictError(
      `${where} ${className(named)} does not extend the socket class a plugin provides (${className(fromPlugins)}): handlers would lose its methods. Extend it (class ${className(named)} extends channels.socketClass), or remove the socketClass`,
    );
  }
  return named;
}
