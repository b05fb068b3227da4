/* global fetch, AbortSignal -- Node 20 globals */
// Container health check for the chat server: exits 0 when GET <url> answers 2xx within 2 s.
// Usage: node http.mjs [url]   (default http://127.0.0.1:3000/readyz)
const url = process.argv[2] ?? "http://127.0.0.1:3000/readyz";
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  console.log(`health: ${url} ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(`health: ${url} ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
