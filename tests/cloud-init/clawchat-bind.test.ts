import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client.js";
import { planMemory } from "../../cloud-init/index.js";
import { CLAWCHAT_BIND, clawchatUnit } from "../../cloud-init/units.js";
import { startServer, type TestServer } from "../clawchat/support.js";

/**
 * The ClawChat unit must listen beyond loopback (`serve` defaults to
 * 127.0.0.1), and on an address that serves both families the firewalls open
 * to `clawchatClientCidrs`: a server bound exactly as the unit binds it answers
 * a client over IPv4 and over IPv6.
 */
describe("ClawChat unit bind address", () => {
  it("runs `serve --bind ::` so clients outside the host reach it", () => {
    const text = clawchatUnit(planMemory(2048));
    const execStart = text.split("\n").find((line) => line.startsWith("ExecStart="));
    expect(execStart).toMatch(/\/clawchat\.js serve --bind :: --dir /);
    expect(CLAWCHAT_BIND).toBe("::");
  });

  describe("a server bound to the unit's address", () => {
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });

    const dualStack = (() => {
      try {
        return readFileSync("/proc/sys/net/ipv6/bindv6only", "utf8").trim() === "0";
      } catch {
        return false;
      }
    })();

    it.skipIf(!dualStack)("answers an IPv4 client and an IPv6 client on the same socket", async () => {
      server = await startServer({ bind: CLAWCHAT_BIND });
      for (const host of ["127.0.0.1", "::1"]) {
        const client = await ClawChatClient.connect(server.security.content, { clock: server.clock, server: { host, port: server.server.homePort } });
        expect(await client.chat(`hello over ${host}`)).toBe(`echo: hello over ${host}`);
        await client.close();
      }
    });
    if (!dualStack) console.log("skipped the dual-stack check: /proc/sys/net/ipv6/bindv6only is not 0 (or IPv6 is absent) on this machine");
  });
});
