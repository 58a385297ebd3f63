/** A series as the viewer shows it: its instances in display order, one image id per frame. */

import { type DicomJson, Tag, numberValue, numberValues, stringValue } from "../dicomweb/tags";

export interface SeriesStack {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  /** The series' WADO-RS URL: its metadata, thumbnail and pixel data are below it. */
  seriesUrl: string;
  seriesNumber: number | undefined;
  seriesDescription: string;
  modality: string;
  /** Series sharing it share patient coordinates: localisation and reference lines work across them. */
  frameOfReferenceUID: string;
  /** One wadors: image id per frame, in display order. */
  imageIds: string[];
  /** The DICOM JSON of each image id's instance, for overlays and the tag browser. */
  instanceByImageId: Map<string, DicomJson>;
  thumbnailUrl: string;
}

/** Order of slices: along the slice normal when the geometry is known, else by instance number. */
function sortInstances(instances: DicomJson[]): DicomJson[] {
  const orientation = numberValues(instances[0], Tag.ImageOrientationPatient);
  const positioned = instances.every((item) => numberValues(item, Tag.ImagePositionPatient).length === 3);
  if (orientation.length === 6 && positioned) {
    const [rx, ry, rz, cx, cy, cz] = orientation;
    const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
    const distance = (item: DicomJson): number => {
      const position = numberValues(item, Tag.ImagePositionPatient);
      return position[0] * normal[0] + position[1] * normal[1] + position[2] * normal[2];
    };
    return [...instances].sort((a, b) => distance(a) - distance(b));
  }
  const number = (item: DicomJson): number => numberValue(item, Tag.InstanceNumber) ?? 0;
  return [...instances].sort((a, b) => number(a) - number(b));
}

export function seriesStackFromInstances(dicomwebRoot: string, instances: DicomJson[]): SeriesStack {
  const first = instances[0];
  const studyUID = stringValue(first, Tag.StudyInstanceUID);
  const seriesUID = stringValue(first, Tag.SeriesInstanceUID);
  const seriesUrl = `${dicomwebRoot}/studies/${studyUID}/series/${seriesUID}`;
  const imageIds: string[] = [];
  const instanceByImageId = new Map<string, DicomJson>();
  for (const instance of sortInstances(instances)) {
    const sopUID = stringValue(instance, Tag.SOPInstanceUID);
    const frames = Math.max(1, numberValue(instance, Tag.NumberOfFrames) ?? 1);
    for (let frame = 1; frame <= frames; frame += 1) {
      const imageId = `wadors:${seriesUrl}/instances/${sopUID}/frames/${frame}`;
      imageIds.push(imageId);
      instanceByImageId.set(imageId, instance);
    }
  }
  return {
    studyInstanceUID: studyUID,
    seriesInstanceUID: seriesUID,
    seriesUrl,
    seriesNumber: numberValue(first, Tag.SeriesNumber),
    seriesDescription: stringValue(first, Tag.SeriesDescription),
    modality: stringValue(first, Tag.Modality),
    frameOfReferenceUID: stringValue(first, Tag.FrameOfReferenceUID),
    imageIds,
    instanceByImageId,
    thumbnailUrl: `${seriesUrl}/thumbnail`,
  };
}

/** Series of a study in hanging order: by series number, then description. */
export function compareSeries(a: SeriesStack, b: SeriesStack): number {
  const numberA = a.seriesNumber ?? Number.MAX_SAFE_INTEGER;
  const numberB = b.seriesNumber ?? Number.MAX_SAFE_INTEGER;
  return numberA - numberB || a.seriesDescription.localeCompare(b.seriesDescription);
}
