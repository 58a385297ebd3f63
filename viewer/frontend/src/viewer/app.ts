/**
 * The viewer: wires the grid, the series panel, the toolbar, measurements and shortcuts together, and
 * loads the studies named in the runtime configuration.
 */

import { RenderingEngine, type Types } from "@cornerstonejs/core";
import type { Types as ToolTypes } from "@cornerstonejs/tools";

import type { PanelPosition, RuntimeConfig } from "./config";
import type { SeriesStack } from "./display/seriesStack";
import { studySeriesLoad } from "./dicomweb/studyMetadata";
import { t } from "./i18n";
import { type Command, shortcutsListen } from "./keyboard/shortcuts";
import type { Layout } from "./layout/viewportGrid";
import { ViewportGrid } from "./layout/viewportGrid";
import { studyPrefetch } from "./loading/prefetchSeries";
import { MeasurementStore } from "./measurements/measurementStore";
import { MeasurementsPanel } from "./measurements/measurementsPanel";
import { userSettingsSave } from "./settings/userSettings";
import { primaryToolSet, toolGroupCreate } from "./tools/toolGroup";
import type { PrimaryTool } from "./tools/toolNames";
import * as actions from "./tools/viewportActions";
import { type WindowPreset, presetsFor } from "./tools/windowPresets";
import { h } from "./ui/dom";
import { helpPanelCreate } from "./ui/helpPanel";
import { SeriesPanel } from "./ui/seriesPanel";
import { type ImageAction, Toolbar } from "./ui/toolbar";
import { overlayAttach } from "./ui/viewportOverlay";

export class ViewerApp {
  private readonly seriesByUID = new Map<string, SeriesStack>();
  private stacks: SeriesStack[] = [];
  private readonly grid: ViewportGrid;
  private readonly toolGroup: ToolTypes.IToolGroup;
  private readonly toolbar: Toolbar;
  private readonly seriesPanel: SeriesPanel;
  private readonly measurements: MeasurementsPanel;
  private readonly store: MeasurementStore;
  private readonly help: HTMLElement;
  private readonly status: HTMLElement;
  private presets: WindowPreset[] = [];

  constructor(
    private readonly shell: HTMLElement,
    private readonly config: RuntimeConfig,
    private readonly dicomwebRoot: string,
  ) {
    const engine = new RenderingEngine("pacs-viewer");
    this.toolGroup = toolGroupCreate();
    this.grid = new ViewportGrid(engine, this.toolGroup, this.seriesByUID);
    this.seriesPanel = new SeriesPanel((stack) => void this.grid.seriesShow(this.grid.activeCell, stack));
    this.toolbar = new Toolbar(
      {
        toolChoose: (tool) => this.toolChoose(tool),
        presetApply: (preset) => this.onActive((viewport) => actions.windowApply(viewport, preset.center, preset.width)),
        action: (action) => this.actionRun(action),
        layoutChoose: (layout) => this.layoutChoose(layout),
        thumbnailsPositionChoose: (position) => this.positionsSet({ thumbnailsPosition: position }),
        toolbarPositionChoose: (position) => this.positionsSet({ toolbarPosition: position }),
        helpToggle: () => this.helpToggle(),
      },
      { thumbnails: config.settings.thumbnailsPosition, toolbar: config.settings.toolbarPosition },
      config.browserUrl,
    );
    this.measurements = new MeasurementsPanel((annotation) => this.measurementShow(annotation));
    this.store = new MeasurementStore(config.measurementsUrl, config.csrfToken, dicomwebRoot, (annotation) =>
      this.studyOfImage(annotation.metadata?.referencedImageId),
    );
    this.help = helpPanelCreate(() => this.helpToggle());
    this.status = h("div", { class: "viewer-status", role: "status" }, t("Loading…"));
    const work = h("div", { class: "viewer-work" }, this.seriesPanel.root, h("div", { class: "viewer-main" }, this.grid.root, this.measurements.root, this.status));
    shell.replaceChildren(this.toolbar.root, work, this.help);
    this.positionsShow();
    this.grid.addEventListener("seriesshown", ((event: CustomEvent) => {
      overlayAttach(event.detail, this.seriesByUID);
      this.displayedShow();
      this.presetsShow();
    }) as EventListener);
    this.grid.addEventListener("activechange", () => this.presetsShow());
    this.toolbar.toolShow("windowLevel");
    this.measurements.refresh();
    shortcutsListen((command) => this.commandRun(command));
  }

  async open(): Promise<void> {
    const { studyInstanceUIDs } = this.config;
    if (studyInstanceUIDs.length === 0) {
      this.statusShow(t("No study was found for this link."));
      return;
    }
    for (const studyUID of studyInstanceUIDs) {
      const stacks = await studySeriesLoad(this.dicomwebRoot, studyUID);
      for (const stack of stacks) {
        this.seriesByUID.set(stack.seriesInstanceUID, stack);
      }
      this.stacks.push(...stacks);
    }
    if (this.stacks.length === 0) {
      this.statusShow(t("This study has no images."));
      return;
    }
    this.statusShow("");
    this.seriesPanel.render(this.stacks);
    this.grid.layoutSet({ rows: 1, columns: 1 }, this.stacks);
    this.toolbar.layoutShow(this.grid.currentLayout);
    this.store.listen();
    await this.store.restore(studyInstanceUIDs).catch((error: unknown) => console.error(error));
    this.measurements.refresh();
    this.shell.dataset.state = "ready";
    const displayed = new Set(this.grid.allCells.map((cell) => cell.seriesInstanceUID));
    const order = [
      ...this.stacks.filter((stack) => displayed.has(stack.seriesInstanceUID)),
      ...this.stacks.filter((stack) => !displayed.has(stack.seriesInstanceUID)),
    ];
    await studyPrefetch(order, this.config.prefetchConcurrency, (progress) => this.seriesPanel.progressShow(progress));
  }

  private onActive(run: (viewport: Types.IStackViewport) => void): void {
    const viewport = this.grid.activeViewport();
    if (viewport) {
      run(viewport);
    }
  }

  private toolChoose(tool: PrimaryTool): void {
    primaryToolSet(this.toolGroup, tool);
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
        this.onActive((viewport) => actions.scrollBy(viewport, command.delta));
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
    }
  }

  private layoutChoose(layout: Layout): void {
    this.grid.layoutSet(layout, this.stacks);
    this.toolbar.layoutShow(layout);
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
