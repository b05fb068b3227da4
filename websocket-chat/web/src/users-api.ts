/** Calls the REST users API, with the page's token when it has one; a refusal throws the server's message. */
export type UsersApi = (method: string, path: string, body?: unknown) => Promise<void>;

export function createUsersApi(token: () => string | undefined): UsersApi {
  return async (method, path, body) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const bearer = token();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const response = await fetch(`/api/users${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) {
      const reply = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
      throw new Error(reply.error?.message ?? `HTTP ${response.status}`);
    }
  };
}
