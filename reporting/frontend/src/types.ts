/** The shapes the workspace page hands over (json_script "rw-config") and the API answers. */

export interface Section {
  key: string;
  title?: string;
  title_zh?: string;
  label?: string;
  required?: boolean;
}

export interface KeyImage {
  id: number;
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  frame: number;
  caption: string;
  url: string;
}

export interface Version {
  number: number;
  status: string;
}

export interface Report {
  id: number;
  status: string;
  version: number;
  template: number | null;
  study_instance_uid: string;
  sections: Record<string, string>;
  measurements: Record<string, string>;
  critical: boolean;
  critical_category: string;
  locked_by: string | null;
  key_images: KeyImage[];
  versions: Version[];
}

export interface Template {
  id: number;
  name: string;
  sections: Section[];
  measurement_fields: { key: string; label?: string; unit?: string; low?: number | null; high?: number | null }[];
}

export interface Phrase {
  id: number;
  title: string;
  text: string;
  section: string;
  shortcut: string;
  shared: boolean;
  children: Phrase[];
}

export interface Measurement {
  key: string;
  label: string;
  unit: string;
  range: string;
  low: number | null;
  high: number | null;
  value: string;
}

export interface Problem {
  code: string;
  message: string;
  section: string;
  start: number;
  end: number;
  excerpt: string;
  severity: string;
}

export interface PriorReport {
  id: number;
  status: string;
  status_label: string;
  critical: boolean;
  signed_version: number | null;
  sections: { key: string; label: string; html: string }[];
  key_images: { id: number; caption: string; url: string }[];
}

export interface Prior {
  // null: a stored study no exam of the RIS produced (images only, no report).
  exam: number | null;
  date: string;
  accession_number: string;
  modality: string;
  procedures: string[];
  study_instance_uid: string;
  viewer_url: string;
  workspace_url: string;
  report: PriorReport | null;
}

export interface Config {
  report: Report;
  statusLabel: string;
  sections: Section[];
  templates: Template[];
  phrases: Phrase[];
  measurements: Measurement[];
  api: string;
  canApprove: boolean;
  canTakeOver: boolean;
  lockMessage: string;
  tab: { url: string; title: string };
  history: Prior[];
  chinese: boolean;
  text: Record<string, string>;
}

/** What the viewer's `window.pacsViewer.captureKeyImage()` returns, and the key-image API takes. */
export interface KeyImageCapture {
  png: string;
  study_instance_uid: string;
  series_instance_uid?: string;
  sop_instance_uid?: string;
  frame?: number;
  annotations?: unknown[];
}
