/**
 * A second browser window (a second screen) linked to the first through a BroadcastChannel: both show
 * the same patient, and while linking is on, slice and window changes in one follow in the other.
 */

export type LinkMessage =
  | { kind: "slice"; series: string; index: number }
  | { kind: "voi"; series: string; lower: number; upper: number }
  | { kind: "prior"; study: string };

export class WindowLink {
  private readonly channel: BroadcastChannel;

  constructor(key: string, onMessage: (message: LinkMessage) => void) {
    this.channel = new BroadcastChannel(`pacs-viewer:${key}`);
    this.channel.addEventListener("message", (event: MessageEvent<LinkMessage>) => onMessage(event.data));
  }

  post(message: LinkMessage): void {
    this.channel.postMessage(message);
  }
}

/** The same viewer page (same studies, so the same patient) in a new window, to drag to a second screen. */
export function secondWindowOpen(): Window | null {
  return window.open(window.location.href, "_blank", "popup,width=1280,height=860");
}
