/**
 * Every kernel-global name the harness creates, in one place, so that stale cleanup can recognise
 * exactly its own leftovers and nothing else. A harness instance owns one *slot* (0..255); the slot
 * is in every name and, by default, in the subnet.
 *
 *   network namespaces  shoal-t<slot>-sw        the switch: holds the bridge and the partition rules
 *                       shoal-t<slot>-h<k>      test host k (1-based)
 *   root-namespace link shoaltk<slot>           veth to the switch, carries the gateway address
 *
 * Links inside the namespaces (`br0`, `h<k>`, `gw` in the switch; `eth0` in each host) are private to
 * their namespace and cannot clash with anything, so they stay short and readable.
 */
export const MAX_SLOT = 255;
export const MAX_HOSTS = 200;

export const SWITCH_BRIDGE = "br0";
export const SWITCH_GATEWAY_PORT = "gw";
export const HOST_INTERFACE = "eth0";

const NETNS_RE = /^shoal-t(\d{1,3})-(sw|h(\d{1,3}))$/;
const ROOT_LINK_RE = /^shoaltk(\d{1,3})$/;

export function harnessId(slot: number): string {
  return `t${slot}`;
}

export function switchNetns(slot: number): string {
  return `shoal-t${slot}-sw`;
}

export function hostNetns(slot: number, index: number): string {
  return `shoal-t${slot}-h${index}`;
}

/** The host's port on the switch bridge; also the name partition rules match on. */
export function switchPort(index: number): string {
  return `h${index}`;
}

/** At most 10 characters: well inside IFNAMSIZ (15). */
export function rootLinkName(slot: number): string {
  return `shoaltk${slot}`;
}

/** The slot of a namespace this harness would have created, or undefined for anyone else's. */
export function slotOfNetns(name: string): number | undefined {
  const m = NETNS_RE.exec(name);
  return m ? toSlot(m[1]) : undefined;
}

export function slotOfRootLink(name: string): number | undefined {
  const m = ROOT_LINK_RE.exec(name);
  return m ? toSlot(m[1]) : undefined;
}

function toSlot(digits: string | undefined): number | undefined {
  const slot = Number(digits);
  return Number.isInteger(slot) && slot >= 0 && slot <= MAX_SLOT ? slot : undefined;
}
