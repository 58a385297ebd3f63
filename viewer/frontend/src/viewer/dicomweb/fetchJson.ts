/** Same-origin DICOMweb requests: the browser session authenticates, no token is handled here. */

export async function fetchDicomJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/dicom+json" },
    signal,
  });
  if (!response.ok) {
    throw new Error(`${response.status} ${response.statusText} for ${url}`);
  }
  if (response.status === 204) {
    return [] as T;
  }
  return (await response.json()) as T;
}
