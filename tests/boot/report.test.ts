import { createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { answers } from "../../boot/probe.js";
import { parseReport } from "../../boot/report.js";

const REPORT = `=== status
status: done
extended_status: done
=== result
{"v1": {"datasource": "DataSourceNoCloud", "errors": []}}
=== log-problems
=== units
Id=openclaw-gateway.service
ActiveState=active
User=openclaw
MemoryMax=1610612736
NoNewPrivileges=yes
ProtectSystem=strict

Id=nginx.service
ActiveState=active
User=

=== gateway-process
openclaw  201000 node /opt/openclaw/current/node_modules/.bin/openclaw gateway run
=== listening
tcp   LISTEN 0      511          0.0.0.0:3000      0.0.0.0:*
tcp   LISTEN 0      511        127.0.0.1:18789     0.0.0.0:*
=== security
openclaw-gateway → Overall exposure level for openclaw-gateway.service: 2.1 OK :-)
nginx → Overall exposure level for nginx.service: 9.6 UNSAFE :-{
=== state-mount
/dev/sda /var/lib/openclaw ext4 rw,relatime
=== memory
peak-kib 1048576
gateway-peak-bytes 524288000
=== state-config
model-settings present
`;

describe("the boot harness's readers", () => {
  it("parses the guest report into the values the checks use", () => {
    const report = parseReport(REPORT);
    expect(report.status).toBe("done");
    expect(report.errors).toEqual([]);
    expect(report.units["openclaw-gateway"]).toMatchObject({ User: "openclaw", MemoryMax: "1610612736", ProtectSystem: "strict" });
    expect(report.gatewayProcessUser).toBe("openclaw");
    expect(report.listening).toEqual([
      { protocol: "tcp", local: "0.0.0.0:3000" },
      { protocol: "tcp", local: "127.0.0.1:18789" },
    ]);
    expect(report.exposure).toEqual({ "openclaw-gateway": 2.1, nginx: 9.6 });
    expect(report.stateConfigKept).toBe(true);
    expect(report.memoryPeakMiB).toBe(1024);
    expect(report.gatewayMemoryPeakMiB).toBe(500);
  });

  it("reads a report without result.json as failed, not as clean", () => {
    const report = parseReport("=== status\nstatus: error\n");
    expect(report.status).toBe("error");
    expect(report.errors).toEqual(["no result.json"]);
    expect(report.stateConfigKept).toBe(false);
  });

  it("counts a port as answering only when bytes come back", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    const talking = createServer((socket) => {
      sockets.push(socket);
      socket.end("SSH-2.0-OpenSSH\r\n");
    });
    await Promise.all([silent, talking].map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))));
    const port = (server: typeof silent) => (server.address() as { port: number }).port;
    expect(await answers(port(silent), 500)).toBe(false);
    expect(await answers(port(talking), 2000)).toBe(true);
    for (const socket of sockets) socket.destroy();
    await Promise.all([silent, talking].map((server) => new Promise((resolve) => server.close(resolve))));
  });
});
