import { describe, expect, it } from "vitest";
import { checkCommandTable, DEFAULT_COMMANDS, parseCommandLine } from "../../support/commands.js";
import { resolveAgentConfig } from "../../support/config.js";
import { authorizedKeys, sshExpiryTime } from "../../support/sshd.js";
import { supportSetScript } from "../../support/nft.js";

describe("the forced command's allow-list", () => {
  it("runs an allowed form at the table's absolute path, with the fixed arguments appended", () => {
    expect(parseCommandLine("journalctl -u openclaw-gateway -n 50", DEFAULT_COMMANDS)).toEqual({
      ok: true,
      program: "journalctl",
      path: "/usr/bin/journalctl",
      args: ["-u", "openclaw-gateway", "-n", "50", "--no-pager"],
      timeoutSeconds: 60,
    });
    expect(parseCommandLine("  systemctl\tstatus  nginx.service ", DEFAULT_COMMANDS)).toMatchObject({ ok: true, args: ["status", "nginx.service", "--no-pager"] });
  });

  const refused: [string, RegExp][] = [
    ["uptime; id", /character that is not allowed/],
    ["uptime|sh", /not allowed/],
    ["$(id)", /not allowed/],
    ["`id`", /not allowed/],
    ["uptime\nid", /control characters/],
    ["uptime\u0000", /control characters/],
    ["/bin/sh", /not an allowed program/],
    ["sh -c id", /not an allowed program/],
    ["../bin/sh", /`\.\.` is not allowed/],
    ["systemctl status ../x", /`\.\.` is not allowed/],
    ["systemctl status -H evil", /accepts only/],
    ["systemctl status --host=evil", /accepts only/],
    ["systemctl edit nginx", /accepts only/],
    ["journalctl -n 100000", /accepts only/],
    ["journalctl -u nginx -n 5 -o verbose", /accepts only/],
    ["constructor", /not an allowed program/],
    ["__proto__", /not an allowed program/],
    ["df -h '/'", /not allowed/],
    ["", /empty/],
  ];
  for (const [line, reason] of refused) {
    it(`refuses ${JSON.stringify(line)}`, () => {
      const parsed = parseCommandLine(line, DEFAULT_COMMANDS);
      expect(parsed.ok).toBe(false);
      expect(parsed.ok ? "" : parsed.reason).toMatch(reason);
    });
  }

  it("refuses a table that lists a shell, an interpreter or a relative path, naming the field", () => {
    expect(() => checkCommandTable({ commands: { sh: { path: "/bin/sh", forms: [[]] } } })).toThrow(/`commands.sh`/);
    expect(() => checkCommandTable({ commands: { tool: { path: "/usr/bin/python3", forms: [[]] } } })).toThrow(/`commands.tool.path`/);
    expect(() => checkCommandTable({ commands: { tool: { path: "bin/tool", forms: [[]] } } })).toThrow(/`commands.tool.path` must be an absolute path/);
    expect(() => checkCommandTable({ commands: { tool: { path: "/usr/bin/tool", forms: [["<anything>"]] } } })).toThrow(/`commands.tool.forms\[0\]\[0\]`/);
    expect(checkCommandTable(JSON.parse(JSON.stringify(DEFAULT_COMMANDS)))).toEqual(
      JSON.parse(JSON.stringify({ commands: Object.fromEntries(Object.entries(DEFAULT_COMMANDS.commands).map(([name, spec]) => [name, { ...spec, append: spec.append ?? [] }])) })),
    );
  });
});

describe("what the agent writes", () => {
  const grant = (id: string, notAfter: string, sources: string[]) => ({
    id,
    grant: { supportKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"], sources, notAfter } as never,
  });

  it("authorized_keys: restrict, sshd's own expiry (cut to the second, UTC), the sources and the forced command", () => {
    expect(sshExpiryTime("2026-12-05T10:20:30.999Z")).toBe("20261205102030Z");
    expect(authorizedKeys([grant("g_1", "2026-12-05T10:20:30.999Z", ["203.0.113.0/24", "2001:db8::/48"])], "/usr/local/lib/clawstack/support-shell")).toContain(
      'restrict,expiry-time="20261205102030Z",from="203.0.113.0/24,2001:db8::/48",command="/usr/local/lib/clawstack/support-shell g_1" ssh-ed25519 AAAAC3',
    );
    expect(() => authorizedKeys([grant('g" x', "2026-12-05T10:20:30Z", ["203.0.113.0/24"])], "/w")).toThrow(/grant id/);
  });

  it("nft: one element per block with the latest end; a block inside another left out; ended grants left out", () => {
    const now = Date.parse("2026-12-05T10:00:00Z");
    const script = supportSetScript(
      [grant("a", "2026-12-05T11:00:00Z", ["198.51.100.0/24"]), grant("b", "2026-12-05T10:30:00Z", ["198.51.100.7/32", "203.0.113.9/32"]), grant("c", "2026-12-05T09:00:00Z", ["192.0.2.1/32"])],
      now,
    );
    expect(script).toBe(
      "flush set inet clawstack support_v4\nflush set inet clawstack support_v6\nadd element inet clawstack support_v4 { 198.51.100.0/24 timeout 3600s, 203.0.113.9/32 timeout 1800s }\n",
    );
  });

  it("agent.json: https only (http to loopback for tests), a poll interval within a minute, known keys only", () => {
    expect(resolveAgentConfig({ apiUrl: "https://api.example.com/v1" })).toMatchObject({ pollSeconds: 30, supportUser: "clawsupport", sshManaged: true });
    expect(() => resolveAgentConfig({ apiUrl: "http://api.example.com/v1" })).toThrow(/`apiUrl`/);
    expect(() => resolveAgentConfig({ apiUrl: "https://api.example.com/v1", pollSeconds: 120 })).toThrow(/`pollSeconds`/);
    expect(() => resolveAgentConfig({ apiUrl: "https://api.example.com/v1", token: "x" })).toThrow(/`token` must be absent/);
    expect(() => resolveAgentConfig({ apiUrl: "https://api.example.com/v1", commands: { nft: ["nft"] } })).toThrow(/`commands.nft\[0\]`/);
  });
});
