/** Reading DICOM JSON (PS3.18 F.2): values by keyword, with the few tags the viewer needs. */

export type DicomJsonElement = { vr: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string };
export type DicomJson = Record<string, DicomJsonElement>;

export const Tag = {
  SOPClassUID: "00080016",
  SOPInstanceUID: "00080018",
  StudyDate: "00080020",
  StudyTime: "00080030",
  AccessionNumber: "00080050",
  Modality: "00080060",
  InstitutionName: "00080080",
  StudyDescription: "00081030",
  SeriesDescription: "0008103E",
  PatientName: "00100010",
  PatientID: "00100020",
  PatientBirthDate: "00100030",
  PatientSex: "00100040",
  SliceThickness: "00180050",
  StudyInstanceUID: "0020000D",
  SeriesInstanceUID: "0020000E",
  SeriesNumber: "00200011",
  InstanceNumber: "00200013",
  ImagePositionPatient: "00200032",
  ImageOrientationPatient: "00200037",
  FrameOfReferenceUID: "00200052",
  SliceLocation: "00201041",
  NumberOfFrames: "00280008",
  Rows: "00280010",
  Columns: "00280011",
  PixelSpacing: "00280030",
  WindowCenter: "00281050",
  WindowWidth: "00281051",
  WindowCenterWidthExplanation: "00281055",
} as const;

export function firstValue(dataset: DicomJson, tag: string): unknown {
  return dataset[tag]?.Value?.[0];
}

export function stringValue(dataset: DicomJson, tag: string): string {
  const value = firstValue(dataset, tag);
  if (value === undefined || value === null) {
    return "";
  }
  if (typeof value === "object") {
    return personNameText(value as Record<string, string>);
  }
  return String(value);
}

export function numberValue(dataset: DicomJson, tag: string): number | undefined {
  const value = firstValue(dataset, tag);
  const number = typeof value === "number" ? value : Number.parseFloat(String(value));
  return Number.isFinite(number) ? number : undefined;
}

export function numberValues(dataset: DicomJson, tag: string): number[] {
  return (dataset[tag]?.Value ?? []).map((value) => Number(value)).filter((value) => Number.isFinite(value));
}

/** A PN value as people read it: the ideographic group when there is one, carets as spaces. */
function personNameText(name: Record<string, string>): string {
  const alphabetic = (name.Alphabetic ?? "").replace(/\^+/g, " ").trim();
  const ideographic = (name.Ideographic ?? "").replace(/\^+/g, "").trim();
  if (ideographic && alphabetic) {
    return `${ideographic} (${alphabetic})`;
  }
  return ideographic || alphabetic;
}
