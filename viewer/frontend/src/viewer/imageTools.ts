/**
 * What works on the images once they are shown: the Cornerstone tools on mouse and touch, measurements
 * (listed, saved and restored), synchronizers between viewports and cine. The viewer imports this
 * module, and through it @cornerstonejs/tools, only after its first images are on screen.
 */

import { Enums, type RenderingEngine, type Types, getEnabledElements } from "@cornerstonejs/core";
import { type Synchronizer, SynchronizerManager, init as toolsInit, store, synchronizers, type Types as ToolTypes } from "@cornerstonejs/tools";

import { CinePlayer } from "./display/cine";
import type { ViewportGrid } from "./layout/viewportGrid";
import { MeasurementStore } from "./measurements/measurementStore";
import { MeasurementsPanel } from "./measurements/measurementsPanel";
import { type LocateListener, locateListen } from "./tools/locateTool";
import { type TouchMode, primaryToolSet, referenceLinesSet, toolGroupCreate, touchModeSet } from "./tools/toolGroup";
import { type PrimaryTool, PrimaryTools } from "./tools/toolNames";
import type { SyncKind } from "./ui/toolbar";

export interface ImageToolsOptions {
  measurementsUrl: string;
  csrfToken: string;
  dicomwebRoot: string;
  /** The study a measurement belongs to, by the image it was made on. */
  studyOf(annotation: ToolTypes.Annotation): string | undefined;
  /** Show the image of a measurement chosen in the list. */
  measurementShow(annotation: ToolTypes.Annotation): void;
  /** Where the locate tool points, in patient coordinates. */
  locate: LocateListener;
  /** What one finger does on the images at first. */
  touchMode: TouchMode;
}

/** The synchronizers between viewports; linking windows needs no tools and stays with the viewer. */
export type ViewportSyncKind = Exclude<SyncKind, "windows">;

export class ImageTools {
  readonly cine = new CinePlayer();
  readonly measurements: MeasurementsPanel;
  readonly store: MeasurementStore;
  private readonly toolGroup: ToolTypes.IToolGroup;
  private readonly syncs = new Map<ViewportSyncKind, Synchronizer>();

  constructor(
    private readonly engine: RenderingEngine,
    private readonly grid: ViewportGrid,
    options: ImageToolsOptions,
  ) {
    toolsInit();
    // The tools give each viewport its input listeners and annotation layer when it is enabled; those
    // enabled before the tools started get them now.
    for (const { viewport } of getEnabledElements()) {
      const detail = { element: viewport.element, viewportId: viewport.id, renderingEngineId: viewport.renderingEngineId };
      store.addEnabledElement(new CustomEvent(Enums.Events.ELEMENT_ENABLED, { detail }) as Types.EventTypes.ElementEnabledEvent);
    }
    this.toolGroup = toolGroupCreate(options.touchMode);
    grid.toolGroupAttach(this.toolGroup);
    locateListen(options.locate);
    this.measurements = new MeasurementsPanel(options.measurementShow);
    this.store = new MeasurementStore(options.measurementsUrl, options.csrfToken, options.dicomwebRoot, options.studyOf);
    this.measurements.refresh();
  }

  primaryToolSet(tool: PrimaryTool): void {
    primaryToolSet(this.toolGroup, tool);
  }

  /** The tool on the left button of the stack viewports. */
  primaryTool(): PrimaryTool {
    const name = this.toolGroup.getActivePrimaryMouseButtonTool();
    const found = Object.entries(PrimaryTools).find(([, toolName]) => toolName === name);
    return (found?.[0] ?? "windowLevel") as PrimaryTool;
  }

  touchModeSet(mode: TouchMode): void {
    touchModeSet(this.toolGroup, mode);
  }

  referenceLinesSet(sourceViewportId: string | null): void {
    referenceLinesSet(this.toolGroup, sourceViewportId);
  }

  /** Turn a synchronizer on or off; whether it is on now. */
  syncToggle(kind: ViewportSyncKind): boolean {
    const existing = this.syncs.get(kind);
    if (existing) {
      SynchronizerManager.destroySynchronizer(existing.id);
      this.syncs.delete(kind);
      return false;
    }
    const id = `pacs-sync-${kind}`;
    const created =
      kind === "voi"
        ? synchronizers.createVOISynchronizer(id, { syncInvertState: true, syncColormap: false })
        : kind === "zoomPan"
          ? synchronizers.createZoomPanSynchronizer(id)
          : synchronizers.createImageSliceSynchronizer(id);
    this.syncs.set(kind, created);
    this.syncRefresh();
    return true;
  }

  /** Every synchronizer spans the stack viewports that show an image now. */
  syncRefresh(): void {
    for (const synchronizer of this.syncs.values()) {
      for (const viewport of synchronizer.getSourceViewports()) {
        synchronizer.remove(viewport);
      }
      if (this.grid.mprSeries) {
        continue;
      }
      for (const cell of this.grid.allCells) {
        if (cell.seriesInstanceUID) {
          synchronizer.add({ renderingEngineId: this.engine.id, viewportId: cell.viewportId });
        }
      }
    }
  }
}
