/** The user's viewer settings (panel positions), saved on the server so they follow the user. */

import type { UserSettings } from "../config";

export async function userSettingsSave(url: string, csrfToken: string, settings: UserSettings): Promise<void> {
  const response = await fetch(url, {
    method: "PUT",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(settings),
  });
  if (!response.ok) {
    throw new Error(`Settings were not saved: ${response.status}`);
  }
}
