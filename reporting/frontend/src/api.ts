/** JSON calls to the reporting API with the session cookie and the CSRF token. */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly data: Record<string, unknown>,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function call<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
  options: { keepalive?: boolean } = {},
): Promise<T> {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    keepalive: options.keepalive,
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : firstError(data) || response.statusText;
    throw new ApiError(detail, response.status, data);
  }
  return data as T;
}

/** DRF's field errors ({field: [message]}) as one line. */
function firstError(data: Record<string, unknown>): string {
  for (const [field, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.length) return `${field}: ${String(value[0])}`;
  }
  return "";
}
