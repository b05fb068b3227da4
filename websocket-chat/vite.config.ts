import { defineConfig } from "vite";

// The browser client. `npm run build:web` writes web/dist, which the chat server serves at `/`;
// `npm run dev:web` serves it with hot reload and forwards the socket and the API to PORT 3000.
export default defineConfig({
  root: "web",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: {
    proxy: {
      "/socket.io": { target: "http://127.0.0.1:3000", ws: true },
      "/api": "http://127.0.0.1:3000",
    },
  },
});
