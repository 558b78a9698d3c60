/**
 * Every type a public signature mentions is exported from an entry point: this file names them
 * through the package's entries only, so `npm test`'s type-check fails if one stops being
 * exported. The assertions tie each to the signature that mentions it.
 */
import { describe, expectTypeOf, test } from "vitest";
import type {
  AcceptOptions,
  App,
  DenialResponse,
  InboundMessage,
  SocketRuntime,
  TransportConnection,
  TransportLimits,
  TransportListener,
  UpgradeRequest,
} from "statewire";
import type { BackendSink, ChannelBackend, ChannelMessage, Envelope, Payload } from "statewire/channels";

describe("public types are exported", () => {
  test("App.handleUpgrade and App.limits: the transport contract", () => {
    expectTypeOf<Parameters<App["handleUpgrade"]>[0]>().toEqualTypeOf<TransportConnection>();
    expectTypeOf<App["limits"]>().toEqualTypeOf<TransportLimits>();
    expectTypeOf<TransportConnection["request"]>().toEqualTypeOf<UpgradeRequest>();
    expectTypeOf<Parameters<TransportConnection["listen"]>[0]>().toEqualTypeOf<TransportListener>();
    expectTypeOf<Parameters<TransportConnection["accept"]>[0]>().toEqualTypeOf<AcceptOptions>();
    expectTypeOf<Parameters<TransportConnection["deny"]>[0]>().toEqualTypeOf<DenialResponse>();
  });

  test("SocketRuntime.take: the inbound message", () => {
    expectTypeOf<ReturnType<SocketRuntime["take"]>>().toEqualTypeOf<Promise<InboundMessage>>();
  });

  test("a custom channel backend: Envelope and what it carries", () => {
    expectTypeOf<Parameters<ChannelBackend["publish"]>[0]>().toEqualTypeOf<Envelope>();
    expectTypeOf<Envelope["payload"]>().toEqualTypeOf<Payload>();
    expectTypeOf<Parameters<ChannelBackend["attach"]>[0]>().toEqualTypeOf<BackendSink>();
    expectTypeOf<ChannelMessage>().not.toBeNever();
  });
});
