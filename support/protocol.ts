/**
 * The wrapper <-> agent protocol over the unix socket (/run/clawstack/support.sock):
 * one JSON object per line, at most `MAX_MESSAGE` bytes.
 *
 *   wrapper -> agent  hello   {key, grantId}          the key sshd authenticated (ExposeAuthInfo), the grant id of the forced command
 *   agent -> wrapper  welcome {grantId, notAfter, operator} | refused {reason}
 *   wrapper -> agent  begin   {commandLine, startedAt}
 *   wrapper -> agent  end     {endedAt, exitStatus, stdoutBytes, stderrBytes}
 *   agent -> wrapper  logged  {seq}
 *
 * A command runs only after `welcome` (no agent, no audit: no command). When
 * the connection drops between `begin` and `end` (the session was killed), the
 * agent logs the command with exit status -1.
 */
export const MAX_MESSAGE = 8 * 1024;

export type WrapperMessage =
  | { type: "hello"; key: string | null; grantId: string | null }
  | { type: "begin"; commandLine: string; startedAt: string }
  | { type: "end"; endedAt: string; exitStatus: number; stdoutBytes: number; stderrBytes: number };

export type AgentMessage =
  | { type: "welcome"; grantId: string; notAfter: string; operator: string }
  | { type: "refused"; reason: string }
  | { type: "logged"; seq: number };

/** One command as the host log holds it and the API receives it (POST .../support-commands). */
export interface CommandRecord {
  seq: number;
  grantId: string;
  /** `ssh-key:SHA256:...` of the support key that logged in. */
  operator: string;
  commandLine: string;
  startedAt: string;
  endedAt: string;
  /** The program's exit status; 126 refused by the wrapper; 124 killed at its time limit; -1 the session ended first. */
  exitStatus: number;
  stdoutBytes: number;
  stderrBytes: number;
}

/** Splits a stream into JSON lines; calls `onMessage` per complete line, `onError` once on an oversized or bad line. */
export function lineReader(onMessage: (value: unknown) => void, onError: (reason: string) => void): (chunk: Buffer) => void {
  let buffered = "";
  let failed = false;
  return (chunk) => {
    if (failed) return;
    buffered += chunk.toString("utf8");
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        onMessage(JSON.parse(line));
      } catch {
        failed = true;
        onError("not JSON");
        return;
      }
      newline = buffered.indexOf("\n");
    }
    if (buffered.length > MAX_MESSAGE) {
      failed = true;
      onError("message too long");
    }
  };
}
