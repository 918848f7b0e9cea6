/**
 * The relay to the gateway (`clawchat/src/relay.ts`): bounded gateway calls per
 * session and per server (the rest refused with error 6, nothing asked), and
 * text that must be valid UTF-8.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client";
import { decodeError, encodeChatPart, encodePresence, ErrorCode } from "../../clawchat/src/messages";
import { MessageType } from "../../clawchat/src/wire";
import { rawPeer, sendTo, sleep, startServer, waitFor, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

/** A chat handler that holds every call until `release()`; counts the calls it received. */
function heldHandler(): { handler: (text: string) => Promise<string>; calls: () => number; release: () => void } {
  const waiting: Array<() => void> = [];
  let calls = 0;
  return {
    handler: (text) =>
      new Promise((resolve) => {
        calls++;
        waiting.push(() => resolve(`answer to ${text}`));
      }),
    calls: () => calls,
    release: () => waiting.splice(0).forEach((resolve) => resolve()),
  };
}

const outcome = (promise: Promise<string>): Promise<string> => promise.then((answer) => answer, (error: Error) => error.message);

describe("bounded gateway work", () => {
  it("runs at most `maxGatewayCallsPerSession` calls for one session and refuses the rest with error 6", async () => {
    const held = heldHandler();
    test = await startServer({ chatHandler: held.handler, limits: { maxGatewayCallsPerSession: 2 } });
    const client = await ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    const answers = ["a", "b", "c", "d", "e"].map((text) => outcome(client.chat(text)));
    await waitFor(() => test?.server.stats.overloaded === 3);
    expect(held.calls()).toBe(2);
    held.release();
    const settled = await Promise.all(answers);
    expect(settled.filter((answer) => answer.startsWith("answer to"))).toHaveLength(2);
    expect(settled.filter((answer) => /^server error 6: too many requests in progress/.test(answer))).toHaveLength(3);
    // Capacity is back once the answers went out.
    const again = outcome(client.chat("f"));
    await waitFor(() => held.calls() === 3);
    held.release();
    await expect(again).resolves.toBe("answer to f");
    expect(test.server.status()).toMatchObject({ overloaded: 3, gateway_calls: 0, dropped: { session_gateway_limit: 3 } });
    await client.close();
  });

  it("runs at most `maxGatewayCalls` calls on the whole server, whichever sessions ask", async () => {
    const held = heldHandler();
    test = await startServer({ chatHandler: held.handler, limits: { maxGatewayCalls: 3, maxGatewayCallsPerSession: 2 } });
    const clients = await Promise.all([1, 2, 3].map(() => ClawChatClient.connect(test!.security.content, { clock: test!.clock, server: test!.target })));
    const answers = clients.flatMap((client, i) => [outcome(client.chat(`${i}-1`)), outcome(client.chat(`${i}-2`))]);
    await waitFor(() => test?.server.stats.overloaded === 3);
    expect(held.calls()).toBe(3);
    expect(test.server.status().gateway_calls).toBe(3);
    held.release();
    const settled = await Promise.all(answers);
    expect(settled.filter((answer) => answer.startsWith("server error 6:"))).toHaveLength(3);
    for (const client of clients) await client.close();
  });
});

describe("text must be valid UTF-8", () => {
  it("refuses a chat message that is not valid UTF-8 with error 1, without asking the gateway", async () => {
    let asked = 0;
    test = await startServer({
      chatHandler: async () => {
        asked++;
        return "never";
      },
    });
    const peer = await rawPeer(test);
    const chatId = Buffer.from("0011223344556677", "hex");
    const invalid = Buffer.from([0x68, 0x69, 0xc3, 0x28]); // "hi" then a broken two-byte sequence
    await sendTo(peer.socket, peer.seal(MessageType.chat, encodeChatPart({ id: chatId, index: 0, count: 1, data: invalid })), peer.dataPort);
    await waitFor(() => peer.received.length === 1);
    const reply = peer.open(peer.received[0] as Buffer);
    expect(reply?.type).toBe(MessageType.error);
    expect(decodeError(reply?.plaintext as Buffer)).toMatchObject({ code: ErrorCode.badRequest, text: "message text is not valid UTF-8" });
    expect(decodeError(reply?.plaintext as Buffer)?.reference.equals(chatId)).toBe(true);
    expect(asked).toBe(0);
    expect(test.server.stats.dropped.invalid_utf8).toBe(1);
    await peer.close();
  });

  it("drops a presence update whose note is not valid UTF-8 (no answer), and answers a valid one", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    const bad = Buffer.concat([encodePresence("away"), Buffer.from([0xff, 0xfe])]);
    await sendTo(peer.socket, peer.seal(MessageType.presence, bad), peer.dataPort);
    await sleep(200);
    expect(peer.received).toHaveLength(0);
    expect(test.server.stats.dropped.malformed).toBe(1);
    await sendTo(peer.socket, peer.seal(MessageType.presence, encodePresence("away", "lunch")), peer.dataPort);
    await waitFor(() => peer.received.length === 1);
    await peer.close();
  });
});
