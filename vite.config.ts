import { defineConfig } from 'vite';

// The web app lives in src/web and builds into dist/web, which the Node server serves.
export default defineConfig({
  root: 'src/web',
  publicDir: 'public',
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts: the CSP allows only 'self'.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/ws': { target: 'ws://localhost:8080', ws: true },
      '/api': 'http://localhost:8080',
    },
  },
});
