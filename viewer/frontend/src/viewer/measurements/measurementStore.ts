/**
 * Saves measurements on the server per user and study, and restores them when the study opens again.
 * Image ids name the DICOMweb root, which differs between hosts: it is stored as a placeholder.
 */

import { eventTarget } from "@cornerstonejs/core";
import { Enums as ToolEnums, annotation as annotationApi, type Types as ToolTypes } from "@cornerstonejs/tools";

import { MeasurementToolNames } from "../tools/toolNames";

const ROOT_PLACEHOLDER = "{dicomweb}";
const SAVE_DELAY_MS = 400;

interface StoredMeasurement {
  uid: string;
  studyInstanceUID: string;
  annotation: ToolTypes.Annotation;
}

type AnnotationEvent = CustomEvent<{ annotation: ToolTypes.Annotation }>;

export class MeasurementStore {
  private readonly pending = new Map<string, number>();
  private restoring = false;

  constructor(
    private readonly url: string,
    private readonly csrfToken: string,
    private readonly dicomwebRoot: string,
    private readonly studyOf: (annotation: ToolTypes.Annotation) => string | undefined,
  ) {}

  /** Add the user's saved measurements of these studies; how many there were. */
  async restore(studyUIDs: string[]): Promise<number> {
    const query = new URLSearchParams(studyUIDs.map((uid) => ["study", uid]));
    const response = await fetch(`${this.url}?${query}`, { credentials: "same-origin" });
    if (!response.ok) {
      throw new Error(`Measurements could not be loaded: ${response.status}`);
    }
    const stored = (await response.json()) as StoredMeasurement[];
    this.restoring = true;
    try {
      for (const item of stored) {
        const annotation = this.withRoot(item.annotation, ROOT_PLACEHOLDER, this.dicomwebRoot);
        annotationApi.state.addAnnotation(annotation, annotation.metadata?.FrameOfReferenceUID ?? "");
      }
    } finally {
      this.restoring = false;
    }
    return stored.length;
  }

  listen(): void {
    const save = ((event: AnnotationEvent) => this.saveLater(event.detail.annotation)) as EventListener;
    eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_COMPLETED, save);
    eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_MODIFIED, save);
    eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_REMOVED, ((event: AnnotationEvent) => {
      const { annotation } = event.detail;
      if (MeasurementToolNames.includes(annotation.metadata?.toolName ?? "") && annotation.annotationUID) {
        void this.request("DELETE", `${this.url}/${annotation.annotationUID}`);
      }
    }) as EventListener);
  }

  private saveLater(annotation: ToolTypes.Annotation): void {
    const uid = annotation.annotationUID;
    if (this.restoring || !uid || !MeasurementToolNames.includes(annotation.metadata?.toolName ?? "")) {
      return;
    }
    window.clearTimeout(this.pending.get(uid));
    this.pending.set(
      uid,
      window.setTimeout(() => {
        this.pending.delete(uid);
        const study = this.studyOf(annotation);
        if (study) {
          const body = { studyInstanceUID: study, annotation: this.withRoot(annotation, this.dicomwebRoot, ROOT_PLACEHOLDER) };
          void this.request("PUT", `${this.url}/${uid}`, body);
        }
      }, SAVE_DELAY_MS),
    );
  }

  private withRoot(annotation: ToolTypes.Annotation, from: string, to: string): ToolTypes.Annotation {
    const copy = structuredClone(annotation);
    const imageId = copy.metadata?.referencedImageId;
    if (imageId && copy.metadata) {
      copy.metadata.referencedImageId = imageId.replace(`wadors:${from}`, `wadors:${to}`);
    }
    return copy;
  }

  private async request(method: string, url: string, body?: unknown): Promise<void> {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrfToken },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      console.error(`${method} ${url} answered ${response.status}`);
    }
  }
}
