import { isIPv4 } from "node:net";
import { checkStateDevicePath } from "./validate.js";

/**
 * Puts the state disk's real device path into a cloud-config rendered with a
 * stand-in path of the same form, where the real one (an AWS volume id) is
 * known only once the disk exists. Gives exactly the text a render with the
 * real path gives: the path appears once, as the quoted `STATE_DEVICE` value
 * of the host's settings, and is checked by the renderer's own guard first.
 */
/**
 * Puts the host's stable public IPv4 address into a cloud-config rendered with a stand-in address, where the
 * real one (an Elastic IP, a reserved IP) is known only once it is allocated. The address appears once, as the
 * quoted `PUBLIC_IPV4` value of the host's settings.
 */
export function withPublicIpv4(cloudConfig: string, standIn: string, address: string): string {
  if (!isIPv4(address)) throw new Error(`the host's public address must be an IPv4 address; got ${JSON.stringify(address)}`);
  const from = `PUBLIC_IPV4='${standIn}'`;
  const at = cloudConfig.indexOf(from);
  if (at < 0 || cloudConfig.indexOf(from, at + 1) >= 0) {
    throw new Error("the rendered cloud-config must hold the stand-in public address exactly once, as PUBLIC_IPV4");
  }
  return `${cloudConfig.slice(0, at)}PUBLIC_IPV4='${address}'${cloudConfig.slice(at + from.length)}`;
}

export function withStateDevicePath(cloudConfig: string, standIn: string, devicePath: string): string {
  checkStateDevicePath(devicePath);
  const from = `STATE_DEVICE='${standIn}'`;
  const at = cloudConfig.indexOf(from);
  if (at < 0 || cloudConfig.indexOf(from, at + 1) >= 0 || cloudConfig.split(standIn).length !== 2) {
    throw new Error(`the rendered cloud-config must hold the stand-in state device path exactly once, as STATE_DEVICE`);
  }
  return `${cloudConfig.slice(0, at)}STATE_DEVICE='${devicePath}'${cloudConfig.slice(at + from.length)}`;
}
