import { defineConfig } from "vite";

// The browser client (the chat at `/`, the cluster view at `/cluster.html`). `npm run build:web` writes web/dist, which the chat server serves at `/`;
// `npm run dev:web` serves it with hot reload and forwards the socket and the API to PORT 3000.
export default defineConfig({
  root: "web",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Two pages: the chat, and the cluster view (served as /cluster.html).
    rolldownOptions: { input: { main: "web/index.html", cluster: "web/cluster.html" } },
  },
  server: {
    proxy: {
      "/socket.io": { target: "http://127.0.0.1:3000", ws: true },
      "/api": "http://127.0.0.1:3000",
    },
  },
});
