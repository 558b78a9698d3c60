"""
A client that knows nothing of statewire: Python's `websockets` (asyncio API, as in 10.4 on
Debian bookworm) drives a subset of examples/tour.ts and prints one JSON object of what it saw.
Usage: python3 tour_client.py ws://127.0.0.1:PORT
"""
import asyncio
import json
import sys

try:
    import websockets
    from websockets.exceptions import ConnectionClosed
except Exception as error:  # reported to the test, which says how to install it
    print(json.dumps({"importError": repr(error), "python": sys.executable}))
    sys.exit(0)

BASE = sys.argv[1]
TIMEOUT = 5


def connect(path, **options):
    return websockets.connect(BASE + path, open_timeout=TIMEOUT, close_timeout=TIMEOUT, **options)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def closed_by_server(ws):
    """Read until the server closes; what it closed with."""
    try:
        while True:
            await recv(ws)
    except ConnectionClosed:
        pass
    return {"code": ws.close_code, "reason": ws.close_reason}


def status_of(error):
    status = getattr(error, "status_code", None)  # websockets < 14: InvalidStatusCode
    if status is None:
        response = getattr(error, "response", None)  # websockets >= 14: InvalidStatus
        status = getattr(response, "status_code", None)
    return status


async def scenario_ws():
    async with connect("/ws") as ws:
        await ws.send("hello")
        return {"reply": await recv(ws)}


async def scenario_echo():
    async with connect("/echo") as ws:
        await ws.send("héllo ✓")
        text = await recv(ws)
        await ws.send(b"\x00\x01\xfe\xff")
        binary = await recv(ws)
        await ws.close(code=1000)
        return {
            "text": text,
            "textType": type(text).__name__,
            "binaryHex": bytes(binary).hex() if isinstance(binary, (bytes, bytearray)) else None,
            "binaryType": type(binary).__name__,
            "closeCode": ws.close_code,
        }


async def scenario_chat():
    async with connect("/listener/chat") as ws:
        await ws.send(json.dumps({"user": "ann", "content": "hi"}))
        valid = json.loads(await recv(ws))
        await ws.send(json.dumps({"user": "ann", "content": 5}))
        schema = await closed_by_server(ws)
    async with connect("/listener/chat") as ws:
        await ws.send("{not json")
        invalid_json = await closed_by_server(ws)
    return {"valid": valid, "schema": schema, "invalidJson": invalid_json}


async def scenario_custom_accept():
    async with connect("/custom-accept", subprotocols=["chat-v1"]) as ws:
        offered = {"subprotocol": ws.subprotocol, "xCustom": ws.response_headers.get("X-Custom")}
        await ws.send("same")
        offered["echo"] = await recv(ws)
    async with connect("/custom-accept") as ws:
        plain = {"subprotocol": ws.subprotocol, "xCustom": ws.response_headers.get("X-Custom")}
    return {"offered": offered, "plain": plain}


async def scenario_secure():
    async with connect("/secure") as ws:  # the handshake completes, then the server closes
        missing = await closed_by_server(ws)
    async with connect("/secure?token=good-token") as ws:
        await ws.send("let me in")
        good = await recv(ws)
    return {"missing": missing, "good": good}


async def scenario_quit():
    async with connect("/quit") as ws:
        await ws.send("hi")
        echo = await recv(ws)
        await ws.send("quit")
        closed = await closed_by_server(ws)
    return {"echo": echo, "closed": closed}


async def scenario_secured():
    try:
        async with connect("/listener/secured?token=nope"):
            return {"opened": True}
    except Exception as error:  # the handshake's HTTP status
        denied = status_of(error)
    async with connect("/listener/secured?token=bob-token") as ws:
        await ws.send("yo")
        reply = await recv(ws)
    return {"deniedStatus": denied, "reply": reply}


SCENARIOS = {
    "ws": scenario_ws,
    "echo": scenario_echo,
    "chat": scenario_chat,
    "customAccept": scenario_custom_accept,
    "secure": scenario_secure,
    "quit": scenario_quit,
    "secured": scenario_secured,
}


async def main():
    results = {"version": getattr(websockets, "__version__", "unknown")}
    for name, scenario in SCENARIOS.items():
        try:
            results[name] = await asyncio.wait_for(scenario(), 15)
        except Exception as error:
            results[name] = {"error": repr(error)}
    return results


print(json.dumps(asyncio.run(main())))
