/**
 * The toolbar: the primary mouse tool, window presets, image actions, layout, panel positions and help.
 * Every control names its keyboard shortcut in its tooltip.
 */

import type { PanelPosition } from "../config";
import type { Layout } from "../layout/viewportGrid";
import type { TouchMode } from "../tools/toolGroup";
import type { PrimaryTool } from "../tools/toolNames";
import type { WindowPreset } from "../tools/windowPresets";
import { t } from "../i18n";
import { h } from "./dom";

export type ImageAction = "invert" | "rotate" | "flipH" | "flipV" | "fit" | "reset";
export type SyncKind = "voi" | "zoomPan" | "slice" | "windows";

export interface PriorStudy {
  studyInstanceUID: string;
  label: string;
}

export interface ToolbarHandlers {
  toolChoose(tool: PrimaryTool): void;
  presetApply(preset: WindowPreset): void;
  action(action: ImageAction): void;
  layoutChoose(layout: Layout): void;
  thumbnailsPositionChoose(position: PanelPosition): void;
  toolbarPositionChoose(position: PanelPosition): void;
  helpToggle(): void;
  cineToggle(): void;
  fpsSet(fps: number): void;
  mprToggle(): void;
  referenceLinesToggle(): void;
  syncToggle(kind: SyncKind): void;
  priorOpen(studyInstanceUID: string): void;
  secondScreen(): void;
  keyImage(): void;
  tagsToggle(): void;
  touchModeSet(mode: TouchMode): void;
}

export const TOOL_BUTTONS: { tool: PrimaryTool; label: string; key: string }[] = [
  { tool: "windowLevel", label: "Window", key: "W" },
  { tool: "pan", label: "Pan", key: "P" },
  { tool: "zoom", label: "Zoom", key: "Z" },
  { tool: "length", label: "Length", key: "L" },
  { tool: "angle", label: "Angle", key: "A" },
  { tool: "rectangle", label: "Rectangle", key: "R" },
  { tool: "ellipse", label: "Ellipse", key: "E" },
  { tool: "probe", label: "Probe", key: "B" },
  { tool: "locate", label: "Locate", key: "X" },
];

export const ACTION_BUTTONS: { action: ImageAction; label: string; key: string }[] = [
  { action: "invert", label: "Invert", key: "I" },
  { action: "rotate", label: "Rotate", key: "T" },
  { action: "flipH", label: "Flip H", key: "H" },
  { action: "flipV", label: "Flip V", key: "V" },
  { action: "fit", label: "Fit", key: "F" },
  { action: "reset", label: "Reset", key: "Space" },
];

export const LAYOUTS: Layout[] = [
  { rows: 1, columns: 1 },
  { rows: 1, columns: 2 },
  { rows: 2, columns: 1 },
  { rows: 2, columns: 2 },
  { rows: 2, columns: 3 },
  { rows: 3, columns: 3 },
];

export const SYNC_BUTTONS: { kind: SyncKind; label: string }[] = [
  { kind: "voi", label: "Sync window" },
  { kind: "zoomPan", label: "Sync zoom/pan" },
  { kind: "slice", label: "Sync slices" },
];

const POSITIONS: PanelPosition[] = ["left", "right", "top", "bottom"];
const POSITION_LABELS: Record<PanelPosition, string> = { left: "Left", right: "Right", top: "Top", bottom: "Bottom" };

export class Toolbar {
  readonly root: HTMLElement;
  private readonly toolButtons = new Map<PrimaryTool, HTMLButtonElement>();
  private readonly presetSelect: HTMLSelectElement;
  private readonly layoutSelect: HTMLSelectElement;
  private presets: WindowPreset[] = [];
  private readonly cineButton: HTMLButtonElement;
  private readonly fpsInput: HTMLInputElement;
  private readonly mprButton: HTMLButtonElement;
  private readonly referenceLinesButton: HTMLButtonElement;
  private readonly syncButtons = new Map<SyncKind, HTMLButtonElement>();
  private readonly priorsSelect: HTMLSelectElement;
  private readonly keyImageButton: HTMLButtonElement;
  private readonly tagsButton: HTMLButtonElement;

  constructor(
    handlers: ToolbarHandlers,
    positions: { thumbnails: PanelPosition; toolbar: PanelPosition },
    browserUrl: string,
  ) {
    const tools = TOOL_BUTTONS.map(({ tool, label, key }) => {
      const button = h(
        "button",
        { type: "button", class: "tool", "data-tool": tool, title: `${t(label)} (${key})`, onclick: () => handlers.toolChoose(tool) },
        t(label),
      );
      this.toolButtons.set(tool, button);
      return button;
    });
    this.presetSelect = h("select", { class: "presets", "aria-label": t("Window presets") });
    this.presetSelect.addEventListener("change", () => {
      const preset = this.presets[Number(this.presetSelect.value)];
      if (preset) {
        handlers.presetApply(preset);
      }
      this.presetSelect.value = "";
    });
    const actions = ACTION_BUTTONS.map(({ action, label, key }) =>
      h(
        "button",
        { type: "button", class: "action", "data-action": action, title: `${t(label)} (${key})`, onclick: () => handlers.action(action) },
        t(label),
      ),
    );
    this.layoutSelect = h(
      "select",
      { class: "layouts", "aria-label": t("Layout") },
      ...LAYOUTS.map((layout, index) => h("option", { value: index }, `${layout.rows}×${layout.columns}`)),
    );
    this.layoutSelect.addEventListener("change", () => handlers.layoutChoose(LAYOUTS[Number(this.layoutSelect.value)]));
    const positionSelect = (label: string, current: PanelPosition, choose: (position: PanelPosition) => void) => {
      const select = h(
        "select",
        { "aria-label": t(label), title: t(label) },
        ...POSITIONS.map((position) =>
          h("option", { value: position, selected: position === current }, `${t(label)}: ${t(POSITION_LABELS[position])}`),
        ),
      );
      select.addEventListener("change", () => choose(select.value as PanelPosition));
      return select;
    };
    const toggle = (attributes: Record<string, string>, label: string, key: string | null, run: () => void) =>
      h(
        "button",
        { type: "button", ...attributes, "aria-pressed": "false", title: key ? `${t(label)} (${key})` : t(label), onclick: () => run() },
        t(label),
      );
    this.cineButton = toggle({ class: "cine-play" }, "Play", "C", handlers.cineToggle);
    this.fpsInput = h("input", {
      class: "cine-fps",
      type: "number",
      min: 1,
      max: 60,
      step: 1,
      value: 10,
      "aria-label": t("Frames per second"),
      title: `${t("Frames per second")} ([ ])`,
    });
    this.fpsInput.addEventListener("input", () => {
      if (this.fpsInput.value !== "") {
        handlers.fpsSet(Number(this.fpsInput.value));
      }
    });
    // Enter or Escape hands the keyboard back to the image shortcuts.
    this.fpsInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === "Escape") {
        this.fpsInput.blur();
      }
    });
    this.mprButton = toggle({ class: "mpr-toggle" }, "MPR", "M", handlers.mprToggle);
    this.referenceLinesButton = toggle({ class: "reference-lines" }, "Reference lines", "N", handlers.referenceLinesToggle);
    for (const { kind, label } of SYNC_BUTTONS) {
      this.syncButtons.set(kind, toggle({ class: "sync", "data-sync": kind }, label, null, () => handlers.syncToggle(kind)));
    }
    this.priorsSelect = h("select", { class: "priors", "aria-label": t("Priors") }, h("option", { value: "" }, t("Priors")));
    this.priorsSelect.addEventListener("change", () => {
      if (this.priorsSelect.value) {
        handlers.priorOpen(this.priorsSelect.value);
      }
      this.priorsSelect.value = "";
    });
    const windowsSync = toggle({ class: "sync", "data-sync": "windows" }, "Link windows", null, () => handlers.syncToggle("windows"));
    this.syncButtons.set("windows", windowsSync);
    this.keyImageButton = h(
      "button",
      { type: "button", class: "key-image", title: `${t("Key image")} (K)`, hidden: true, onclick: () => handlers.keyImage() },
      t("Key image"),
    );
    this.tagsButton = toggle({ class: "tags-toggle" }, "Tags", "G", handlers.tagsToggle);
    const touchSelect = h(
      "select",
      { class: "touch-mode", "aria-label": t("One finger"), title: t("One finger") },
      h("option", { value: "scroll" }, `${t("One finger")}: ${t("Scroll")}`),
      h("option", { value: "windowLevel" }, `${t("One finger")}: ${t("Window")}`),
    );
    touchSelect.addEventListener("change", () => handlers.touchModeSet(touchSelect.value as TouchMode));
    this.root = h(
      "div",
      { class: "toolbar", role: "toolbar" },
      h("a", { class: "back", href: browserUrl, title: t("Study list") }, t("Studies")),
      h("div", { class: "group" }, ...tools),
      h("div", { class: "group" }, this.presetSelect),
      h("div", { class: "group" }, ...actions),
      h("div", { class: "group" }, this.layoutSelect, this.mprButton, this.referenceLinesButton),
      h("div", { class: "group cine" }, this.cineButton, this.fpsInput),
      h("div", { class: "group compare" }, this.priorsSelect, ...[...this.syncButtons.values()]),
      h(
        "div",
        { class: "group" },
        h("button", { type: "button", class: "second-screen", title: t("Open on second screen"), onclick: () => handlers.secondScreen() }, t("Second screen")),
        this.keyImageButton,
        this.tagsButton,
        touchSelect,
      ),
      h(
        "div",
        { class: "group" },
        positionSelect("Thumbnails", positions.thumbnails, handlers.thumbnailsPositionChoose),
        positionSelect("Toolbar", positions.toolbar, handlers.toolbarPositionChoose),
      ),
      h("button", { type: "button", class: "help", title: `${t("Keyboard shortcuts")} (?)`, onclick: () => handlers.helpToggle() }, "?"),
    );
  }

  toolShow(tool: PrimaryTool): void {
    for (const [name, button] of this.toolButtons) {
      button.classList.toggle("active", name === tool);
      button.setAttribute("aria-pressed", String(name === tool));
    }
  }

  cineShow(playing: boolean, fps: number): void {
    this.cineButton.classList.toggle("active", playing);
    this.cineButton.setAttribute("aria-pressed", String(playing));
    this.cineButton.textContent = playing ? t("Pause") : t("Play");
    if (document.activeElement !== this.fpsInput) {
      this.fpsInput.value = String(fps);
    }
  }

  private pressedShow(button: HTMLButtonElement, on: boolean): void {
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", String(on));
  }

  mprShow(on: boolean): void {
    this.pressedShow(this.mprButton, on);
  }

  referenceLinesShow(on: boolean): void {
    this.pressedShow(this.referenceLinesButton, on);
  }

  syncShow(kind: SyncKind, on: boolean): void {
    const button = this.syncButtons.get(kind);
    if (button) {
      this.pressedShow(button, on);
    }
  }

  tagsShow(on: boolean): void {
    this.pressedShow(this.tagsButton, on);
  }

  keyImageEnable(on: boolean): void {
    this.keyImageButton.hidden = !on;
  }

  keyImageBusy(busy: boolean): void {
    this.keyImageButton.disabled = busy;
  }

  priorsShow(priors: PriorStudy[]): void {
    this.priorsSelect.replaceChildren(
      h("option", { value: "" }, `${t("Priors")} (${priors.length})`),
      ...priors.map((prior) => h("option", { value: prior.studyInstanceUID }, prior.label)),
    );
  }

  presetsShow(presets: WindowPreset[]): void {
    this.presets = presets;
    this.presetSelect.replaceChildren(
      h("option", { value: "", selected: true }, t("Window presets")),
      ...presets.map((preset, index) =>
        h("option", { value: index }, `${t(preset.label)} (${preset.width}/${preset.center})${preset.key ? ` [${preset.key}]` : ""}`),
      ),
    );
  }

  layoutShow(layout: Layout): void {
    const index = LAYOUTS.findIndex((item) => item.rows === layout.rows && item.columns === layout.columns);
    this.layoutSelect.value = String(Math.max(0, index));
  }
}
