/// <reference types="vitest/config" />
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// `npm run dev` proxies the API to a running gateway (GATEWAY_URL, default :8000), so the
// browser still sees one origin.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000";

// Next to each text file of the build, its brotli (.br) and gzip (.gz) variants at the
// strongest settings, made once here; the gateway (gateway/spa.py) and the compose image's nginx
// (gzip_static) send the one the browser accepts. Node's own zlib: no plugin needed.
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt|webmanifest)$/;
function precompress(): Plugin {
  return {
    name: "msh-precompress",
    apply: "build",
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
          entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
        );
      for (const file of walk("dist").filter((name) => COMPRESSIBLE.test(name))) {
        const body = readFileSync(file);
        if (body.length < 1024) continue;
        writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), tailwindcss(), precompress()],
  server: {
    proxy: { "/api": gateway, "/admin": gateway, "/static": gateway },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    css: false,
  },
});
