// esbuild bundles CSS imports into app.css (console/build.ts).
declare module '*.css';
