/**
 * The compromised protocol of seed 002 §8, end to end over loopback: the
 * signed signal, the signed acknowledgement, keys and security files deleted
 * on both sides, a new security file issued by the server for out-of-band
 * transfer, and the security event in the audit log.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client";
import { listSecurityFiles, loadSecurityFile } from "../../clawchat/src/security-dir";
import { MessageType } from "../../clawchat/src/wire";
import { rawPeer, sendTo, sleep, startServer, waitFor, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

/** What the user transferred to the client device: copies of the security file and the bootstrap key, mode 600. */
async function clientCopies(t: TestServer): Promise<{ file: string; key: string }> {
  const dir = join(t.security.root, "client");
  await fs.mkdir(dir, { mode: 0o700 });
  const file = join(dir, basename(t.security.filePath));
  const key = join(dir, "bootstrap.key");
  await fs.copyFile(t.security.filePath, file);
  await fs.copyFile(t.security.keyPath, key);
  await fs.chmod(file, 0o600);
  await fs.chmod(key, 0o600);
  return { file, key };
}

describe("the compromised protocol (§8)", () => {
  it("signal → signed ack → both sides delete keys and files → the server issues a new file → logged", async () => {
    test = await startServer();
    const { server, clock, security } = test;
    const copies = await clientCopies(test);
    const client = await ClawChatClient.open(copies.file, copies.key, { clock, server: test.target });
    const bystander = await ClawChatClient.connect(security.content, { clock, server: test.target });
    const bystanderClosed = new Promise<string>((resolve) => bystander.on("closed", ({ reason }) => resolve(reason)));
    expect(server.sessionCount).toBe(2);

    const ack = await client.reportCompromised("lost laptop");
    expect(ack).toMatchObject({ type: "compromised_ack", version: "2.0", connection_id: client.connectionId, action: "keys_deleted", new_file_ready: true });
    expect(ack.signature).toMatch(/^[0-9a-f]{64}$/);

    // Client: session keys gone (closed), its copy of the security file deleted.
    expect(client.isOpen).toBe(false);
    await expect(fs.stat(copies.file)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(client.chat("anyone?")).rejects.toThrow(/session is closed \(compromised\)/);

    // Server: every session dropped (the other one told so), the old file deleted, a new one in its place.
    await server.settled();
    expect(server.sessionCount).toBe(0);
    await expect(bystanderClosed).resolves.toBe("terminated_by_server");
    const files = await listSecurityFiles(security.dir);
    expect(files).toHaveLength(1);
    expect(files[0]).not.toBe(security.filePath);
    expect(server.securityFilePath).toBe(files[0]);
    expect((await fs.stat(files[0] as string)).mode & 0o777).toBe(0o600);
    const renewed = await loadSecurityFile(files[0] as string, security.bootstrapKey);
    expect(renewed.content.shared_secret).not.toBe(security.content.shared_secret);
    expect(renewed.content.server_id).toBe(security.content.server_id);

    // Audit: the security event with the address, and the re-issue naming the deleted file; no reason text beyond 64 chars, no keys.
    const signalEvent = test.logger.events.find((e) => e.event === "security_event" && e.fields.kind === "compromised_signal");
    expect(signalEvent?.level).toBe("warn");
    expect(signalEvent?.fields).toMatchObject({ session: client.connectionId, address: "127.0.0.1" });
    const issued = test.logger.events.find((e) => e.event === "security_file_issued");
    expect(issued?.fields).toMatchObject({ reason: "compromised", deleted: basename(security.filePath) });

    // The old secret admits nobody any more; the new file (transferred out of band) does.
    const stale = ClawChatClient.connect(security.content, { clock, server: test.target, handshakeAttempts: 1, handshakeRetryMs: 1_000 }).then(
      () => "connected",
      (error: Error) => error.message,
    );
    await sleep(200);
    clock.advance(1_000);
    await expect(stale).resolves.toMatch(/no answer/);
    const fresh = await ClawChatClient.connect(renewed.content, { clock, server: test.target });
    await expect(fresh.chat("hello again")).resolves.toBe("echo: hello again");
    await fresh.close();
  });

  it("ignores a signal with a bad signature: no ack, nothing deleted, logged as a security event", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    const forged = {
      type: "compromised",
      version: "2.0",
      signal: "CLAWCHAT_COMPROMISED_V2",
      timestamp: Math.floor(test.clock.now() / 1000),
      connection_id: peer.sessionId.toString("hex"),
      reason: "user_initiated",
      signature: randomBytes(32).toString("hex"),
    };
    await sendTo(peer.socket, peer.seal(MessageType.compromised, Buffer.from(JSON.stringify(forged))), peer.dataPort);
    await sleep(300);
    expect(peer.received).toHaveLength(0);
    await test.server.settled();
    expect(await listSecurityFiles(test.security.dir)).toEqual([test.security.filePath]);
    expect(test.server.sessionCount).toBe(1);
    expect(test.logger.events.find((e) => e.event === "security_event")?.fields).toMatchObject({ kind: "compromised_signal_bad_signature", address: "127.0.0.1" });
    // A signal naming another connection is refused the same way.
    await sendTo(peer.socket, peer.seal(MessageType.compromised, Buffer.from(JSON.stringify({ ...forged, connection_id: "0000000000000000" }))), peer.dataPort);
    await waitFor(() => test?.logger.events.some((e) => e.fields.kind === "compromised_signal_malformed") === true);
    expect(await listSecurityFiles(test.security.dir)).toEqual([test.security.filePath]);
    await peer.close();
  });

  it("fails secure: without an ack within `response_timeout` the client deletes its keys and file anyway", async () => {
    test = await startServer();
    const copies = await clientCopies(test);
    const client = await ClawChatClient.open(copies.file, copies.key, { clock: test.clock, server: test.target });
    await test.server.close(); // the server is gone: no ack will come
    const outcome = client.reportCompromised().then(
      () => "acknowledged",
      (error: Error) => error.message,
    );
    for (let i = 0; i < 10; i++) test.clock.advance(1_000);
    await expect(outcome).resolves.toMatch(/no acknowledgement within 10 s: local keys and security file deleted anyway/);
    await expect(fs.stat(copies.file)).rejects.toMatchObject({ code: "ENOENT" });
    expect(client.isOpen).toBe(false);
  });
});
