// Builds the extension bundle (dist/extension.js) and, with --test, the
// unbundled modules the unit tests load (out/). `vscode` stays external: VS
// Code provides it at run time, the tests stub it.
import * as esbuild from 'esbuild';

const args = new Set(process.argv.slice(2));

const common = { platform: 'node', format: 'cjs', target: 'node18', sourcemap: true, logLevel: 'warning' };

if (args.has('--test')) {
  // Core modules one file per module; extension.ts bundled with everything but
  // its two boundaries (vscode, vscode-languageclient) so tests can stub both.
  await esbuild.build({ ...common, entryPoints: ['src/core/*.ts'], outdir: 'out/core' });
  await esbuild.build({
    ...common,
    entryPoints: ['src/extension.ts'],
    bundle: true,
    outfile: 'out/extension.js',
    external: ['vscode', 'vscode-languageclient', 'vscode-languageclient/*'],
  });
} else {
  const ctx = await esbuild.context({
    ...common,
    entryPoints: ['src/extension.ts'],
    bundle: true,
    outfile: 'dist/extension.js',
    external: ['vscode'],
    minify: !args.has('--watch'),
  });
  if (args.has('--watch')) {
    await ctx.watch();
  } else {
    await ctx.rebuild();
    await ctx.dispose();
  }
}
