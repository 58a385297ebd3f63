/**
 * Keyboard shortcuts: one table read by the key handler and by the help panel, so they cannot disagree.
 */

import type { PrimaryTool } from "../tools/toolNames";
import type { ImageAction } from "../ui/toolbar";
import { ACTION_BUTTONS, TOOL_BUTTONS } from "../ui/toolbar";

export type Command =
  | { kind: "scroll"; delta: number }
  | { kind: "scrollEdge"; edge: "first" | "last" }
  | { kind: "tool"; tool: PrimaryTool }
  | { kind: "action"; action: ImageAction }
  | { kind: "preset"; key: string }
  | { kind: "nextViewport" }
  | { kind: "cine" }
  | { kind: "fps"; delta: number }
  | { kind: "mpr" }
  | { kind: "referenceLines" }
  | { kind: "tags" }
  | { kind: "keyImage" }
  | { kind: "help" };

export interface Shortcut {
  keys: string[];
  label: string;
  command: Command;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: ["ArrowDown", "ArrowRight"], label: "Next image", command: { kind: "scroll", delta: 1 } },
  { keys: ["ArrowUp", "ArrowLeft"], label: "Previous image", command: { kind: "scroll", delta: -1 } },
  { keys: ["PageDown"], label: "Forward 10 images", command: { kind: "scroll", delta: 10 } },
  { keys: ["PageUp"], label: "Back 10 images", command: { kind: "scroll", delta: -10 } },
  { keys: ["Home"], label: "First image", command: { kind: "scrollEdge", edge: "first" } },
  { keys: ["End"], label: "Last image", command: { kind: "scrollEdge", edge: "last" } },
  ...TOOL_BUTTONS.map(({ tool, label, key }) => ({ keys: [key.toLowerCase()], label, command: { kind: "tool", tool } as Command })),
  ...ACTION_BUTTONS.map(({ action, label, key }) => ({
    keys: [key === "Space" ? " " : key.toLowerCase()],
    label,
    command: { kind: "action", action } as Command,
  })),
  ...["1", "2", "3", "4", "5"].map((key) => ({
    keys: [key],
    label: "Window preset",
    command: { kind: "preset", key } as Command,
  })),
  { keys: ["Tab"], label: "Next viewport", command: { kind: "nextViewport" } },
  { keys: ["c"], label: "Play / pause cine", command: { kind: "cine" } },
  { keys: ["]"], label: "Faster cine", command: { kind: "fps", delta: 1 } },
  { keys: ["["], label: "Slower cine", command: { kind: "fps", delta: -1 } },
  { keys: ["m"], label: "MPR", command: { kind: "mpr" } },
  { keys: ["n"], label: "Reference lines", command: { kind: "referenceLines" } },
  { keys: ["g"], label: "DICOM tags", command: { kind: "tags" } },
  { keys: ["k"], label: "Key image", command: { kind: "keyImage" } },
  { keys: ["?"], label: "Keyboard shortcuts", command: { kind: "help" } },
];

const byKey = new Map<string, Command>(SHORTCUTS.flatMap((shortcut) => shortcut.keys.map((key) => [key, shortcut.command])));

/** Listen on the document; typing in a form field, or keys for an open dialog, are left alone. */
export function shortcutsListen(run: (command: Command) => void): void {
  document.addEventListener("keydown", (event) => {
    const target = event.target as HTMLElement | null;
    const ownKeys = "input[type=text], input[type=search], input[type=number], textarea, select, [role=dialog]";
    if (target?.closest(ownKeys) || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const command = byKey.get(event.key.length === 1 ? event.key.toLowerCase() : event.key) ?? byKey.get(event.key);
    if (command) {
      event.preventDefault();
      run(command);
    }
  });
}

export function keyName(key: string): string {
  return key === " " ? "Space" : key.length === 1 ? key.toUpperCase() : key;
}
