/**
 * The dashboard bundle runs core/validation.ts with web/src/shims/node-net.ts in place of
 * `node:net`: both must answer alike, or the browser would accept or refuse addresses the API does not.
 */
import { isIPv4, isIPv6 } from "node:net";
import { describe, expect, it } from "vitest";
import * as shim from "../../web/src/shims/node-net";

const SAMPLES = [
  "0.0.0.0", "127.0.0.1", "203.0.113.7", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3",
  " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/24", "", "::", "::1", "2001:db8::", "2001:db8::1", "2001:0db8:0000:0000:0000:ff00:0042:8329",
  "2001:db8:::1", "fe80::1%eth0", "fe80::1%", "::ffff:192.0.2.1", "::ffff:192.0.2.256", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7::", "1::2::3", "g::1", "12345::", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "2001:db8::/32", "[::1]", "x", "1.2.3.4\n",
];

describe("the node:net shim of the dashboard bundle", () => {
  it.each(SAMPLES)("answers %j as node:net does", (sample) => {
    expect({ v4: shim.isIPv4(sample), v6: shim.isIPv6(sample) }).toEqual({ v4: isIPv4(sample), v6: isIPv6(sample) });
  });
});
