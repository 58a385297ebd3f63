/**
 * The viewport grid (1×1 to 3×3): creates the cells, enables them as Cornerstone stack viewports,
 * hangs series, tracks the active cell and keeps each cell's scrollbar in step with its stack.
 */

import { Enums, type RenderingEngine, type Types } from "@cornerstonejs/core";
import type { Types as ToolTypes } from "@cornerstonejs/tools";

import type { SeriesStack } from "../display/seriesStack";
import { t } from "../i18n";
import type { MprPrimary, MprSession } from "../mpr/mprViewports";
import { scrollTo } from "../tools/viewportActions";
import { type ViewportCell, viewportCellCreate } from "./viewportCell";

export type Layout = { rows: number; columns: number };

export class ViewportGrid extends EventTarget {
  readonly root: HTMLDivElement;
  private cells: ViewportCell[] = [];
  private activeIndex = 0;
  private layout: Layout = { rows: 1, columns: 1 };
  private mpr: MprSession | null = null;
  /** The tools of the stack viewports: none until they have loaded, after the first images. */
  private toolGroup: ToolTypes.IToolGroup | null = null;
  /** The series reconstructed in MPR, or null while the grid shows stacks. */
  mprSeries: SeriesStack | null = null;

  constructor(
    private readonly engine: RenderingEngine,
    private readonly seriesByUID: Map<string, SeriesStack>,
  ) {
    super();
    this.root = document.createElement("div");
    this.root.className = "viewport-grid";
    new ResizeObserver(() => this.engine.resize(true, true)).observe(this.root);
  }

  get currentLayout(): Layout {
    return this.layout;
  }

  get activeCell(): ViewportCell {
    return this.cells[this.activeIndex];
  }

  get allCells(): readonly ViewportCell[] {
    return this.cells;
  }

  activeViewport(): Types.IStackViewport | undefined {
    return this.viewportOf(this.activeCell);
  }

  viewportOf(cell: ViewportCell | undefined): Types.IStackViewport | undefined {
    if (!cell?.seriesInstanceUID || this.mprSeries) {
      return undefined;
    }
    return this.engine.getViewport(cell.viewportId) as Types.IStackViewport | undefined;
  }

  /** Any viewport of the grid, stack or volume (MPR), for actions both kinds support. */
  anyViewport(cell: ViewportCell | undefined): Types.IViewport | undefined {
    return cell ? (this.engine.getViewport(cell.viewportId) as Types.IViewport | undefined) : undefined;
  }

  /** Give the stack viewports, those shown now and those of every later layout, the tools of `group`. */
  toolGroupAttach(group: ToolTypes.IToolGroup): void {
    this.toolGroup = group;
    if (!this.mprSeries) {
      for (const cell of this.cells) {
        group.addViewport(cell.viewportId, this.engine.id);
      }
    }
  }

  private cellsRelease(): void {
    for (const cell of this.cells) {
      this.toolGroup?.removeViewports(this.engine.id, cell.viewportId);
      this.engine.disableElement(cell.viewportId);
    }
    this.mpr?.stop();
    this.mpr = null;
    this.mprSeries = null;
    this.root.dataset.mode = "stack";
  }

  private cellsBuild(layout: Layout): void {
    this.root.style.gridTemplateRows = `repeat(${layout.rows}, minmax(0, 1fr))`;
    this.root.style.gridTemplateColumns = `repeat(${layout.columns}, minmax(0, 1fr))`;
    const count = layout.rows * layout.columns;
    this.cells = Array.from({ length: count }, (_, index) => this.cellCreate(index));
    this.root.replaceChildren(...this.cells.map((cell) => cell.root));
  }

  /** Show `stack` as a volume in three orthogonal views; the MPR code loads on first use. */
  async mprShow(stack: SeriesStack): Promise<void> {
    const { mprStart, MPR_ORIENTATIONS } = await import("../mpr/mprViewports");
    this.cellsRelease();
    this.cellsBuild({ rows: 1, columns: 3 });
    this.root.dataset.mode = "mpr";
    this.mprSeries = stack;
    this.cells.forEach((cell, index) => {
      cell.seriesInstanceUID = null;
      cell.scrollbar.hidden = true;
      cell.root.dataset.orientation = MPR_ORIENTATIONS[index].name.toLowerCase();
      cell.corners.topLeft.textContent = t(MPR_ORIENTATIONS[index].name);
    });
    this.activeSet(0);
    this.mpr = await mprStart(this.engine, this.cells, stack);
    this.dispatchEvent(new CustomEvent("mprshown", { detail: stack }));
  }

  /** In MPR, what the left button does; false when the grid shows stacks. */
  mprPrimarySet(tool: MprPrimary): boolean {
    this.mpr?.primarySet(tool);
    return this.mpr !== null;
  }

  /**
   * Rebuild the grid; cells that remain keep their series, new cells get the next series in order.
   * Resolves when every cell that got a series shows its image.
   */
  layoutSet(layout: Layout, hangingOrder: SeriesStack[]): Promise<void> {
    const previous = this.mprSeries ? [this.mprSeries.seriesInstanceUID] : this.cells.map((cell) => cell.seriesInstanceUID);
    // A cell that keeps its series keeps its slice too.
    const previousIndex = this.cells.map((cell) => this.viewportOf(cell)?.getCurrentImageIdIndex() ?? 0);
    this.cellsRelease();
    this.layout = layout;
    this.cellsBuild(layout);
    const count = layout.rows * layout.columns;
    this.engine.setViewports(
      this.cells.map((cell) => ({
        viewportId: cell.viewportId,
        type: Enums.ViewportType.STACK,
        element: cell.element,
        defaultOptions: { background: [0, 0, 0] as Types.Point3 },
      })),
    );
    for (const cell of this.cells) {
      this.toolGroup?.addViewport(cell.viewportId, this.engine.id);
    }
    const shown = new Set<string>();
    const showing: Promise<void>[] = [];
    const unshown = hangingOrder.filter((stack) => !previous.includes(stack.seriesInstanceUID));
    this.cells.forEach((cell, index) => {
      const keep = previous[index];
      const stack = keep ? this.seriesByUID.get(keep) : unshown.shift();
      if (stack && !shown.has(stack.seriesInstanceUID)) {
        shown.add(stack.seriesInstanceUID);
        showing.push(this.seriesShow(cell, stack, keep ? (previousIndex[index] ?? 0) : 0));
      }
    });
    this.activeSet(Math.min(this.activeIndex, count - 1));
    return Promise.all(showing).then(() => undefined);
  }

  activeSet(index: number): void {
    this.activeIndex = index;
    this.cells.forEach((cell) => cell.root.classList.toggle("active", cell.index === index));
    this.dispatchEvent(new CustomEvent("activechange", { detail: this.activeCell }));
  }

  activeNext(): void {
    this.activeSet((this.activeIndex + 1) % this.cells.length);
  }

  async seriesShow(cell: ViewportCell, stack: SeriesStack, imageIndex = 0): Promise<void> {
    cell.seriesInstanceUID = stack.seriesInstanceUID;
    cell.root.dataset.series = stack.seriesInstanceUID;
    const viewport = this.engine.getViewport(cell.viewportId) as Types.IStackViewport;
    cell.scrollbar.max = String(stack.imageIds.length - 1);
    cell.scrollbar.value = String(imageIndex);
    cell.scrollbar.hidden = stack.imageIds.length < 2;
    await viewport.setStack(stack.imageIds, imageIndex);
    viewport.render();
    this.dispatchEvent(new CustomEvent("seriesshown", { detail: cell }));
  }

  private cellCreate(index: number): ViewportCell {
    const cell = viewportCellCreate(index);
    cell.root.addEventListener("pointerdown", () => this.activeSet(index), { capture: true });
    cell.scrollbar.addEventListener("input", () => {
      const viewport = this.viewportOf(cell);
      if (viewport) {
        scrollTo(viewport, Number(cell.scrollbar.value));
      }
    });
    cell.element.addEventListener(Enums.Events.STACK_NEW_IMAGE, ((event: Types.EventTypes.StackNewImageEvent) => {
      cell.scrollbar.value = String(event.detail.imageIdIndex);
    }) as EventListener);
    cell.root.addEventListener("dragover", (event) => {
      event.preventDefault();
      cell.root.classList.add("drop-target");
    });
    cell.root.addEventListener("dragleave", () => cell.root.classList.remove("drop-target"));
    cell.root.addEventListener("drop", (event) => {
      event.preventDefault();
      cell.root.classList.remove("drop-target");
      const stack = this.seriesByUID.get(event.dataTransfer?.getData("application/x-series-uid") ?? "");
      if (stack) {
        this.activeSet(index);
        void this.seriesShow(cell, stack);
      }
    });
    return cell;
  }
}
