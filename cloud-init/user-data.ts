import { checkStateDevicePath } from "./validate.js";

/**
 * Puts the state disk's real device path into a cloud-config rendered with a
 * stand-in path of the same form, where the real one (an AWS volume id) is
 * known only once the disk exists. Gives exactly the text a render with the
 * real path gives: the path appears once, as the quoted `STATE_DEVICE` value
 * of the host's settings, and is checked by the renderer's own guard first.
 */
export function withStateDevicePath(cloudConfig: string, standIn: string, devicePath: string): string {
  checkStateDevicePath(devicePath);
  const from = `STATE_DEVICE='${standIn}'`;
  const at = cloudConfig.indexOf(from);
  if (at < 0 || cloudConfig.indexOf(from, at + 1) >= 0 || cloudConfig.split(standIn).length !== 2) {
    throw new Error(`the rendered cloud-config must hold the stand-in state device path exactly once, as STATE_DEVICE`);
  }
  return `${cloudConfig.slice(0, at)}STATE_DEVICE='${devicePath}'${cloudConfig.slice(at + from.length)}`;
}
