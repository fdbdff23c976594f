import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// The server serves dist/ at / (hashed assets under /assets, cached for a year; index.html never cached).
// In development, `FERRY_API_URL=http://127.0.0.1:PORT npm run dev -w @ferry/web` proxies /api to a server.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, target: "es2022" },
  server: {
    proxy: process.env.FERRY_API_URL ? { "/api": process.env.FERRY_API_URL, "/auth": process.env.FERRY_API_URL } : undefined,
  },
});
