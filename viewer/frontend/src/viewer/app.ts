/**
 * The viewer: wires the grid, the series panel, the toolbar and shortcuts together, loads the studies
 * named in the runtime configuration and shows their first images. What works on the images (tools,
 * measurements, synchronizers, cine) loads after that, in ImageTools: the first image never waits for
 * @cornerstonejs/tools, and until the tools are there, the controls that need them do nothing.
 */

import { Enums, RenderingEngine, type Types, cache, getEnabledElement, utilities as csUtilities } from "@cornerstonejs/core";
import type { Types as ToolTypes } from "@cornerstonejs/tools";

import type { KeyImage } from "./capture/keyImage";
import { fpsClamp, recommendedFps } from "./display/cineRate";
import { Localizer } from "./display/localize";
import { fetchDicomJson } from "./dicomweb/fetchJson";
import { type DicomJson, Tag, stringValue } from "./dicomweb/tags";
import type { ImageTools } from "./imageTools";
import { type LinkMessage, WindowLink, secondWindowOpen } from "./sync/windowLink";
import type { TouchMode } from "./tools/toolGroup";
import { TagBrowser } from "./ui/tagBrowser";

import type { PanelPosition, RuntimeConfig } from "./config";
import type { SeriesStack } from "./display/seriesStack";
import type { ViewportCell } from "./layout/viewportCell";
import { studySeriesLoad } from "./dicomweb/studyMetadata";
import { t } from "./i18n";
import { type Command, shortcutsListen } from "./keyboard/shortcuts";
import type { Layout } from "./layout/viewportGrid";
import { ViewportGrid } from "./layout/viewportGrid";
import { firstImageLoad } from "./loading/firstImage";
import { studyPrefetch } from "./loading/prefetchSeries";
import { userSettingsSave } from "./settings/userSettings";
import type { PrimaryTool } from "./tools/toolNames";
import * as actions from "./tools/viewportActions";
import { type WindowPreset, presetsFor } from "./tools/windowPresets";
import { h } from "./ui/dom";
import { helpPanelCreate } from "./ui/helpPanel";
import { SeriesPanel } from "./ui/seriesPanel";
import { type ImageAction, type PriorStudy, type SyncKind, Toolbar } from "./ui/toolbar";
import { overlayAttach } from "./ui/viewportOverlay";

export class ViewerApp {
  private readonly seriesByUID = new Map<string, SeriesStack>();
  private stacks: SeriesStack[] = [];
  private readonly grid: ViewportGrid;
  private readonly toolbar: Toolbar;
  private readonly seriesPanel: SeriesPanel;
  private readonly main: HTMLElement;
  private readonly help: HTMLElement;
  private helpOpener: HTMLElement | null = null;
  private readonly status: HTMLElement;
  private presets: WindowPreset[] = [];
  private readonly engine: RenderingEngine;
  /** Null until the first images are on screen and the tools have loaded. */
  private tools: ImageTools | null = null;
  private fps = 10;
  private readonly localizer: Localizer;
  private referenceLines = false;
  private touchMode: TouchMode = "scroll";
  private link: WindowLink | null = null;
  private linked = true;
  private readonly fromLink = new WeakMap<HTMLDivElement, string>();
  private readonly tags: TagBrowser;
  private readonly openStudies = new Set<string>();
  private readonly keyImageUrl: string | null;

  constructor(
    private readonly shell: HTMLElement,
    private readonly config: RuntimeConfig,
    private readonly dicomwebRoot: string,
  ) {
    const engine = new RenderingEngine("pacs-viewer");
    this.engine = engine;
    this.grid = new ViewportGrid(engine, this.seriesByUID);
    this.seriesPanel = new SeriesPanel((stack) => void this.seriesChoose(stack));
    this.toolbar = new Toolbar(
      {
        toolChoose: (tool) => this.toolChoose(tool),
        presetApply: (preset) => this.onActive((viewport) => actions.windowApply(viewport, preset.center, preset.width)),
        action: (action) => this.actionRun(action),
        layoutChoose: (layout) => this.layoutChoose(layout),
        thumbnailsPositionChoose: (position) => this.positionsSet({ thumbnailsPosition: position }),
        toolbarPositionChoose: (position) => this.positionsSet({ toolbarPosition: position }),
        helpToggle: () => this.helpToggle(),
        cineToggle: () => this.cineToggle(),
        fpsSet: (fps) => this.fpsSet(fps),
        mprToggle: () => void this.mprToggle(),
        referenceLinesToggle: () => this.referenceLinesToggle(),
        syncToggle: (kind) => this.syncToggle(kind),
        priorOpen: (uid) => void this.priorOpen(uid),
        secondScreen: () => secondWindowOpen(),
        keyImage: () => void this.keyImageAdd(),
        tagsToggle: () => void this.tagsToggle(),
        touchModeSet: (mode) => this.touchModeChoose(mode),
      },
      { thumbnails: config.settings.thumbnailsPosition, toolbar: config.settings.toolbarPosition },
      config.browserUrl,
    );
    this.help = helpPanelCreate(() => this.helpToggle());
    this.status = h("div", { class: "viewer-status", role: "status" }, t("Loading…"));
    this.tags = new TagBrowser(() => void this.tagsToggle());
    this.localizer = new Localizer(() => this.grid.allCells, this.seriesByUID);
    const report = new URLSearchParams(window.location.search).get("report");
    this.keyImageUrl = report && /^\d+$/.test(report) ? config.keyImagesUrl.replace("{report}", report) : null;
    this.toolbar.keyImageEnable(this.keyImageUrl !== null);
    this.main = h("div", { class: "viewer-main" }, this.grid.root, this.status);
    const work = h("div", { class: "viewer-work" }, this.seriesPanel.root, this.main, this.tags.root);
    shell.replaceChildren(this.toolbar.root, work, this.help);
    this.positionsShow();
    this.grid.addEventListener("seriesshown", ((event: CustomEvent) => {
      const cell = event.detail as ViewportCell;
      overlayAttach(cell, this.seriesByUID);
      this.cellWatch(cell);
      this.displayedShow();
      this.presetsShow();
      const stack = cell.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
      if (cell === this.grid.activeCell && stack && !this.cinePlaying(cell.element)) {
        this.fps = recommendedFps(stack.instanceByImageId.get(stack.imageIds[0]));
      }
      this.cineShow();
      this.tools?.syncRefresh();
      this.referenceLinesApply();
    }) as EventListener);
    this.grid.addEventListener("activechange", () => {
      this.presetsShow();
      this.cineShow();
      this.referenceLinesApply();
      this.tagsRefresh();
    });
    this.toolbar.toolShow("windowLevel");
    shortcutsListen((command) => this.commandRun(command));
    this.api();
  }

  /** What tests, the report workspace and other windows may call. */
  private api(): void {
    (window as unknown as { pacsViewer: unknown }).pacsViewer = {
      captureKeyImage: () => this.keyImageCapture(),
      cineState: () => ({ playing: this.cinePlaying(this.grid.activeCell?.element), fps: this.fps }),
      // The decoded-image cache against its bound, in bytes: a long session must stay under it.
      cacheUse: () => ({ bytes: cache.getCacheSize(), bound: cache.getMaxCacheSize() }),
    };
  }

  async open(): Promise<void> {
    const { studyInstanceUIDs } = this.config;
    if (studyInstanceUIDs.length === 0) {
      this.statusShow(t("No study was found for this link."));
      return;
    }
    for (const studyUID of studyInstanceUIDs) {
      await this.studyAdd(studyUID);
    }
    if (this.stacks.length === 0) {
      this.statusShow(t("This study has no images."));
      return;
    }
    this.statusShow("");
    // The first image (the first series fills the 1×1 layout) is requested before the grid builds its
    // viewport, which takes a while (canvas, WebGL); the viewport's own request then finds it in the cache.
    firstImageLoad(this.stacks[0].imageIds[0]);
    const firstImages = this.grid.layoutSet({ rows: 1, columns: 1 }, this.stacks);
    this.seriesPanel.render(this.stacks);
    this.toolbar.layoutShow(this.grid.currentLayout);
    // An image that failed to load is shown so by its viewport; the rest of the viewer loads all the same.
    await firstImages.catch((error: unknown) => console.error(error));
    this.seriesPanel.thumbnailsLoad();
    const displayed = new Set(this.grid.allCells.map((cell) => cell.seriesInstanceUID));
    const order = [
      ...this.stacks.filter((stack) => displayed.has(stack.seriesInstanceUID)),
      ...this.stacks.filter((stack) => !displayed.has(stack.seriesInstanceUID)),
    ];
    const prefetched = studyPrefetch(order, this.config.prefetchConcurrency, (progress) => this.seriesPanel.progressShow(progress));
    const tools = await this.toolsLoad();
    tools.store.listen();
    const restored = await tools.store.restore(studyInstanceUIDs).catch((error: unknown) => {
      console.error(error);
      return 0;
    });
    tools.measurements.refresh();
    // The images are on screen already: this render draws the restored measurements, and reference
    // lines turned on while the tools loaded. Without either it would redraw the same image, at the cost
    // of a WebGL render and a page frame while the series streams in.
    if (restored > 0 || this.referenceLines) {
      this.referenceLinesApply();
    }
    this.shell.dataset.state = "ready";
    this.windowLinkStart();
    void this.priorsLoad().catch((error: unknown) => console.error(error));
    await prefetched;
  }

  private async toolsLoad(): Promise<ImageTools> {
    const { ImageTools } = await import("./imageTools");
    const tools = new ImageTools(this.engine, this.grid, {
      measurementsUrl: this.config.measurementsUrl,
      csrfToken: this.config.csrfToken,
      dicomwebRoot: this.dicomwebRoot,
      studyOf: (annotation) => this.studyOfImage(annotation.metadata?.referencedImageId),
      measurementShow: (annotation) => this.measurementShow(annotation),
      locate: (element, world) => this.localizer.locate(element, world),
      touchMode: this.touchMode,
    });
    this.main.insertBefore(tools.measurements.root, this.status);
    tools.cine.addEventListener("change", () => this.cineShow());
    this.tools = tools;
    return tools;
  }

  private onActive(run: (viewport: Types.IStackViewport) => void): void {
    // In MPR the volume viewports take the same window, invert and camera calls.
    const viewport = this.grid.mprSeries
      ? (this.grid.anyViewport(this.grid.activeCell) as Types.IStackViewport | undefined)
      : this.grid.activeViewport();
    if (viewport) {
      run(viewport);
    }
  }

  private toolChoose(tool: PrimaryTool): void {
    if (!this.tools) {
      return;
    }
    if (this.grid.mprSeries) {
      // In MPR the locate tool is the crosshairs; measurements belong to the stack images.
      const mprTool = tool === "locate" ? "crosshairs" : tool === "windowLevel" || tool === "pan" || tool === "zoom" ? tool : null;
      if (mprTool === null) {
        this.statusFlash(t("Measurements are made on the stack; leave MPR first."));
        return;
      }
      this.grid.mprPrimarySet(mprTool);
      this.toolbar.toolShow(tool);
      return;
    }
    this.tools.primaryToolSet(tool);
    this.toolbar.toolShow(tool);
  }

  private actionRun(action: ImageAction): void {
    const run: Record<ImageAction, (viewport: Types.IStackViewport) => void> = {
      invert: actions.invertToggle,
      rotate: actions.rotateRight,
      flipH: actions.flipHorizontal,
      flipV: actions.flipVertical,
      fit: actions.fitToWindow,
      reset: actions.resetAll,
    };
    this.onActive(run[action]);
  }

  private commandRun(command: Command): void {
    switch (command.kind) {
      case "scroll":
        if (this.grid.mprSeries) {
          const viewport = this.grid.anyViewport(this.grid.activeCell);
          if (viewport) {
            csUtilities.scroll(viewport, { delta: command.delta });
          }
        } else {
          this.onActive((viewport) => actions.scrollBy(viewport, command.delta));
        }
        break;
      case "scrollEdge":
        this.onActive((viewport) => actions.scrollTo(viewport, command.edge === "first" ? 0 : viewport.getImageIds().length - 1));
        break;
      case "tool":
        this.toolChoose(command.tool);
        break;
      case "action":
        this.actionRun(command.action);
        break;
      case "preset": {
        const preset = this.presets.find((item) => item.key === command.key);
        if (preset) {
          this.onActive((viewport) => actions.windowApply(viewport, preset.center, preset.width));
        }
        break;
      }
      case "nextViewport":
        this.grid.activeNext();
        break;
      case "help":
        this.helpToggle();
        break;
      case "cine":
        this.cineToggle();
        break;
      case "fps":
        this.fpsSet(this.fps + command.delta);
        break;
      case "mpr":
        void this.mprToggle();
        break;
      case "referenceLines":
        this.referenceLinesToggle();
        break;
      case "tags":
        void this.tagsToggle();
        break;
      case "keyImage":
        if (this.keyImageUrl) {
          void this.keyImageAdd();
        }
        break;
    }
  }

  private layoutChoose(layout: Layout): void {
    if (this.grid.mprSeries && this.tools) {
      this.toolbar.toolShow(this.tools.primaryTool());
    }
    this.cineStopAll();
    void this.grid.layoutSet(layout, this.stacks);
    this.toolbar.layoutShow(layout);
    this.toolbar.mprShow(false);
  }

  private async seriesChoose(stack: SeriesStack): Promise<void> {
    if (this.grid.mprSeries) {
      this.layoutChoose(this.grid.currentLayout);
    }
    await this.grid.seriesShow(this.grid.activeCell, stack);
  }

  // ---- Studies and priors -------------------------------------------------------------------

  private async studyAdd(studyUID: string): Promise<SeriesStack[]> {
    const stacks = await studySeriesLoad(this.dicomwebRoot, studyUID);
    for (const stack of stacks) {
      this.seriesByUID.set(stack.seriesInstanceUID, stack);
    }
    this.stacks.push(...stacks);
    this.openStudies.add(studyUID);
    return stacks;
  }

  /** Other studies of the patient, from QIDO-RS (PS3.18 10.6), newest first. */
  private async priorsLoad(): Promise<void> {
    const first = this.stacks[0]?.instanceByImageId.get(this.stacks[0].imageIds[0]);
    const patientID = first ? stringValue(first, Tag.PatientID) : "";
    if (!patientID) {
      return;
    }
    const query = new URLSearchParams({ PatientID: patientID, includefield: "00081030,00080061" });
    const studies = await fetchDicomJson<DicomJson[]>(`${this.dicomwebRoot}/studies?${query}`);
    const priors: PriorStudy[] = studies
      .filter((study) => !this.openStudies.has(stringValue(study, Tag.StudyInstanceUID)))
      .sort((a, b) => stringValue(b, Tag.StudyDate).localeCompare(stringValue(a, Tag.StudyDate)))
      .map((study) => {
        const date = stringValue(study, Tag.StudyDate);
        const modalities = (study["00080061"]?.Value ?? []).join("/");
        return {
          studyInstanceUID: stringValue(study, Tag.StudyInstanceUID),
          label: [date.replace(/^(\d{4})(\d{2})(\d{2})$/, "$1-$2-$3"), modalities, stringValue(study, Tag.StudyDescription)]
            .filter(Boolean)
            .join(" "),
        };
      });
    this.toolbar.priorsShow(priors);
  }

  /** Open a prior beside the current study: its first series in the viewport next to the active one. */
  private async priorOpen(studyUID: string, fromLink = false): Promise<void> {
    if (this.linked && !fromLink) {
      this.link?.post({ kind: "prior", study: studyUID });
    }
    const stacks = this.openStudies.has(studyUID)
      ? this.stacks.filter((stack) => stack.studyInstanceUID === studyUID)
      : await this.studyAdd(studyUID);
    this.seriesPanel.render(this.stacks);
    this.displayedShow();
    if (stacks.length === 0) {
      return;
    }
    if (this.grid.mprSeries || this.grid.allCells.length < 2) {
      this.layoutChoose({ rows: 1, columns: 2 });
    }
    const target = this.grid.allCells[(this.grid.activeCell.index + 1) % this.grid.allCells.length];
    await this.grid.seriesShow(target, stacks[0]);
    await this.priorsLoad().catch((error: unknown) => console.error(error));
    void studyPrefetch(stacks, this.config.prefetchConcurrency, (progress) => this.seriesPanel.progressShow(progress));
  }

  // ---- Synchronisation between viewports and windows ----------------------------------------

  private syncToggle(kind: SyncKind): void {
    if (kind === "windows") {
      this.linked = !this.linked;
      this.toolbar.syncShow("windows", this.linked);
    } else if (this.tools) {
      this.toolbar.syncShow(kind, this.tools.syncToggle(kind));
    }
  }

  private windowLinkStart(): void {
    const key = this.config.studyInstanceUIDs.join(",");
    this.link = new WindowLink(key, (message) => this.linkReceive(message));
    this.toolbar.syncShow("windows", this.linked);
  }

  private linkReceive(message: LinkMessage): void {
    if (!this.linked) {
      return;
    }
    if (message.kind === "prior") {
      // The same patient's prior: the linked window hangs it beside its study too.
      if (!this.openStudies.has(message.study)) {
        void this.priorOpen(message.study, true);
      }
      return;
    }
    if (this.grid.mprSeries) {
      return;
    }
    for (const cell of this.grid.allCells) {
      const viewport = this.grid.viewportOf(cell);
      if (!viewport || cell.seriesInstanceUID !== message.series) {
        continue;
      }
      // What arrives from the other window is not sent back: during a fast scroll an echo of an older
      // slice would pull the sender back.
      if (message.kind === "slice" && viewport.getCurrentImageIdIndex() !== message.index) {
        this.fromLink.set(cell.element, `slice:${message.index}`);
        actions.scrollTo(viewport, message.index);
      } else if (message.kind === "voi") {
        const current = viewport.getProperties().voiRange;
        if (!current || Math.abs(current.lower - message.lower) > 0.5 || Math.abs(current.upper - message.upper) > 0.5) {
          this.fromLink.set(cell.element, `voi:${message.lower}:${message.upper}`);
          viewport.setProperties({ voiRange: { lower: message.lower, upper: message.upper } });
          viewport.render();
        }
      }
    }
  }

  /** Whether this change of `element` is the one a linked window asked for (then it is not echoed). */
  private fromLinkTake(element: HTMLDivElement, change: string): boolean {
    if (this.fromLink.get(element) === change) {
      this.fromLink.delete(element);
      return true;
    }
    return false;
  }

  /** Events of a cell that other windows, the tag browser and the cine controls follow. */
  private cellWatch(cell: ViewportCell): void {
    if (cell.root.dataset.watched) {
      return;
    }
    cell.root.dataset.watched = "1";
    cell.element.addEventListener(Enums.Events.STACK_NEW_IMAGE, ((event: Types.EventTypes.StackNewImageEvent) => {
      if (cell === this.grid.activeCell) {
        this.tagsRefresh();
      }
      if (this.fromLinkTake(cell.element, `slice:${event.detail.imageIdIndex}`)) {
        return;
      }
      if (this.linked && cell.seriesInstanceUID && !this.cinePlaying(cell.element)) {
        this.link?.post({ kind: "slice", series: cell.seriesInstanceUID, index: event.detail.imageIdIndex });
      }
    }) as EventListener);
    cell.element.addEventListener(Enums.Events.VOI_MODIFIED, ((event: Types.EventTypes.VoiModifiedEvent) => {
      const range = event.detail.range;
      if (range && this.fromLinkTake(cell.element, `voi:${range.lower}:${range.upper}`)) {
        return;
      }
      if (this.linked && cell.seriesInstanceUID && range) {
        this.link?.post({ kind: "voi", series: cell.seriesInstanceUID, lower: range.lower, upper: range.upper });
      }
    }) as EventListener);
  }

  // ---- Cine --------------------------------------------------------------------------------

  private cinePlaying(element: HTMLDivElement | undefined): boolean {
    return this.tools?.cine.isPlaying(element) ?? false;
  }

  private cineToggle(): void {
    const cell = this.grid.activeCell;
    const viewport = this.grid.viewportOf(cell);
    const cine = this.tools?.cine;
    if (!cell || !viewport || !cine) {
      return;
    }
    if (cine.isPlaying(cell.element)) {
      cine.stop(cell.element);
    } else if (viewport.getImageIds().length > 1) {
      cine.play(cell.element, this.fps);
    }
  }

  private fpsSet(fps: number): void {
    this.fps = fpsClamp(Number.isFinite(fps) ? fps : this.fps);
    const element = this.grid.activeCell?.element;
    if (element && this.cinePlaying(element)) {
      this.tools?.cine.play(element, this.fps);
    }
    this.cineShow();
  }

  private cineShow(): void {
    this.toolbar.cineShow(this.cinePlaying(this.grid.activeCell?.element), this.fps);
  }

  private cineStopAll(): void {
    const cine = this.tools?.cine;
    if (!cine) {
      return;
    }
    for (const cell of this.grid.allCells) {
      if (cine.isPlaying(cell.element)) {
        cine.stop(cell.element);
      }
    }
    cine.forgetDetached();
  }

  // ---- MPR, reference lines, tags, touch ---------------------------------------------------

  private async mprToggle(): Promise<void> {
    if (this.grid.mprSeries) {
      this.layoutChoose(this.grid.currentLayout);
      return;
    }
    if (!this.tools) {
      return;
    }
    const cell = this.grid.activeCell;
    const stack = cell?.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
    if (!stack || stack.imageIds.length < 3) {
      this.statusFlash(t("MPR needs a series of several slices."));
      return;
    }
    this.cineStopAll();
    this.toolbar.mprShow(true);
    try {
      await this.grid.mprShow(stack);
      this.toolbar.toolShow("locate");
    } catch (error) {
      console.error(error);
      this.statusFlash(t("MPR could not be built for this series."));
      this.layoutChoose(this.grid.currentLayout);
    }
  }

  private referenceLinesToggle(): void {
    this.referenceLines = !this.referenceLines;
    this.toolbar.referenceLinesShow(this.referenceLines);
    this.referenceLinesApply();
  }

  private referenceLinesApply(): void {
    if (this.grid.mprSeries || !this.tools) {
      return;
    }
    const source = this.grid.activeCell;
    this.tools.referenceLinesSet(this.referenceLines && source?.seriesInstanceUID ? source.viewportId : null);
    this.engine.render();
  }

  private activeInstance(): DicomJson | undefined {
    const cell = this.grid.activeCell;
    const viewport = this.grid.viewportOf(cell);
    const stack = cell?.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
    return viewport && stack ? stack.instanceByImageId.get(stack.imageIds[viewport.getCurrentImageIdIndex()]) : undefined;
  }

  private async tagsToggle(): Promise<void> {
    if (this.tags.open) {
      this.tags.hide();
    } else {
      await this.tags.show(this.activeInstance());
    }
    this.toolbar.tagsShow(this.tags.open);
  }

  private tagsRefresh(): void {
    if (this.tags.open) {
      this.tags.render(this.activeInstance());
    }
  }

  private touchModeChoose(mode: TouchMode): void {
    this.touchMode = mode;
    this.tools?.touchModeSet(mode);
  }

  // ---- Key images --------------------------------------------------------------------------

  private async keyImageCapture(): Promise<KeyImage> {
    const cell = this.grid.activeCell;
    const stack = cell?.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
    if (!cell || !stack || !getEnabledElement(cell.element)) {
      throw new Error(t("The active viewport shows no image."));
    }
    // Key images need the tools' annotations; this code loads on first use.
    const { keyImageCapture } = await import("./capture/keyImage");
    return keyImageCapture(cell.element, stack);
  }

  private async keyImageAdd(): Promise<void> {
    if (!this.keyImageUrl) {
      return;
    }
    this.toolbar.keyImageBusy(true);
    try {
      const image = await this.keyImageCapture();
      const { keyImageSend } = await import("./capture/keyImage");
      await keyImageSend(this.keyImageUrl, this.config.csrfToken, image);
      this.statusFlash(t("Key image added to the report."));
      window.parent.postMessage({ type: "pacs:key-image-added" }, window.location.origin);
    } catch (error) {
      this.statusFlash(`${t("The key image could not be saved.")} ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.toolbar.keyImageBusy(false);
    }
  }

  private statusFlash(message: string): void {
    this.statusShow(message);
    window.setTimeout(() => {
      if (this.status.textContent === message) {
        this.statusShow("");
      }
    }, 4000);
  }

  private positionsSet(change: Partial<RuntimeConfig["settings"]>): void {
    Object.assign(this.config.settings, change);
    this.positionsShow();
    void userSettingsSave(this.config.settingsUrl, this.config.csrfToken, this.config.settings).catch((error: unknown) =>
      console.error(error),
    );
  }

  private positionsShow(): void {
    const { thumbnailsPosition, toolbarPosition } = this.config.settings;
    this.shell.dataset.toolbar = toolbarPosition satisfies PanelPosition;
    this.shell.dataset.thumbnails = thumbnailsPosition satisfies PanelPosition;
  }

  private presetsShow(): void {
    const cell = this.grid.activeCell;
    const stack = cell?.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
    this.presets = stack ? presetsFor(stack.modality, stack.instanceByImageId.get(stack.imageIds[0])) : [];
    this.toolbar.presetsShow(this.presets);
  }

  private displayedShow(): void {
    const uids = this.grid.allCells.map((cell) => cell.seriesInstanceUID).filter((uid): uid is string => uid !== null);
    this.seriesPanel.displayedMark(new Set(uids));
  }

  private helpToggle(): void {
    this.help.hidden = !this.help.hidden;
    if (!this.help.hidden) {
      // The keyboard goes to the dialog (Enter or Escape closes it), and back where it was after.
      this.helpOpener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      this.help.querySelector("button")?.focus();
      return;
    }
    // A hidden element may keep the focus until the browser's next update: the image's keys would
    // still go to the dialog.
    if (document.activeElement instanceof HTMLElement && this.help.contains(document.activeElement)) {
      document.activeElement.blur();
    }
    this.helpOpener?.focus();
    this.helpOpener = null;
  }

  private statusShow(message: string): void {
    this.status.textContent = message;
    this.status.hidden = message === "";
  }

  private studyOfImage(imageId: string | undefined): string | undefined {
    for (const stack of this.stacks) {
      if (imageId && stack.instanceByImageId.has(imageId)) {
        return stack.studyInstanceUID;
      }
    }
    return undefined;
  }

  /** Show the image a measurement was made on, in the active viewport. */
  private measurementShow(annotation: ToolTypes.Annotation): void {
    const imageId = annotation.metadata?.referencedImageId;
    const stack = this.stacks.find((item) => imageId && item.instanceByImageId.has(imageId));
    if (stack && imageId) {
      void this.grid.seriesShow(this.grid.activeCell, stack, stack.imageIds.indexOf(imageId));
    }
  }
}
