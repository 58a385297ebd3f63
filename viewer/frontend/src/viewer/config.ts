/** The runtime configuration Django renders into the page: what this server offers, and to whom. */

export type PanelPosition = "left" | "right" | "top" | "bottom";

export interface UserSettings {
  thumbnailsPosition: PanelPosition;
  toolbarPosition: PanelPosition;
}

export interface RuntimeConfig {
  /** DICOMweb root, absolute or relative to the page; the viewer loads everything through it. */
  dicomwebRoot: string;
  studyInstanceUIDs: string[];
  language: string;
  /** UI strings in the user's language, keyed by their English text. */
  i18n: Record<string, string>;
  settings: UserSettings;
  settingsUrl: string;
  measurementsUrl: string;
  browserUrl: string;
  csrfToken: string;
  /** Where a key image of a report is posted; `{report}` is replaced by the report id. */
  keyImagesUrl: string;
  /** How many frames are fetched at once while a series prefetches. */
  prefetchConcurrency: number;
  /** Upper bound of the decoded image cache, in megabytes. */
  cacheSizeMb: number;
}

export function readConfig(elementId = "viewer-config"): RuntimeConfig {
  const element = document.getElementById(elementId);
  if (!element?.textContent) {
    throw new Error(`The page has no #${elementId} runtime configuration`);
  }
  return JSON.parse(element.textContent) as RuntimeConfig;
}
