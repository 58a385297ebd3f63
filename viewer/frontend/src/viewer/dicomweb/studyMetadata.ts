/**
 * Loads a study through WADO-RS Retrieve Metadata (PS3.18 10.4.1.1.2), registers each instance's
 * DICOM JSON with the image loader, and returns the study's series as stacks.
 */

import { wadors } from "@cornerstonejs/dicom-image-loader";

import { compareSeries, type SeriesStack, seriesStackFromInstances } from "../display/seriesStack";
import { fetchDicomJson } from "./fetchJson";
import { type DicomJson, Tag, stringValue } from "./tags";

/** Instances without pixel data (reports, presentation states) are not stacks. */
function hasImage(instance: DicomJson): boolean {
  return instance[Tag.Rows] !== undefined;
}

declare global {
  interface Window {
    /** Metadata requests the page started before its script ran (viewer.html), by URL. */
    pacsMetadataPreloads?: Map<string, Promise<DicomJson[] | null>>;
  }
}

/** A study's metadata: the page's own early request for it when there is one, else a request now. */
async function studyMetadata(url: string): Promise<DicomJson[]> {
  const preloaded = window.pacsMetadataPreloads?.get(url);
  window.pacsMetadataPreloads?.delete(url); // a study opened again later is asked for afresh
  return (await preloaded) ?? (await fetchDicomJson<DicomJson[]>(url));
}

export async function studySeriesLoad(dicomwebRoot: string, studyUID: string): Promise<SeriesStack[]> {
  const instances = await studyMetadata(`${dicomwebRoot}/studies/${studyUID}/metadata`);
  const bySeries = new Map<string, DicomJson[]>();
  for (const instance of instances.filter(hasImage)) {
    const seriesUID = stringValue(instance, Tag.SeriesInstanceUID);
    const members = bySeries.get(seriesUID) ?? [];
    members.push(instance);
    bySeries.set(seriesUID, members);
  }
  const stacks = [...bySeries.values()].map((members) => seriesStackFromInstances(dicomwebRoot, members));
  for (const stack of stacks) {
    for (const [imageId, instance] of stack.instanceByImageId) {
      wadors.metaDataManager.add(imageId, instance as never);
    }
  }
  return stacks.sort(compareSeries);
}
