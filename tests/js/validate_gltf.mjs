// Validate glTF/GLB files with the Khronos glTF-Validator.
// Usage: node validate_gltf.mjs FILE...  -> prints one JSON array of
// {path, numErrors, numWarnings, numInfos, messages} and exits 1 if any file has errors.
import { readFile } from "node:fs/promises";
import path from "node:path";
import validator from "gltf-validator";

const results = [];
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 50,
    externalResourceFunction: (uri) =>
      readFile(path.resolve(path.dirname(file), decodeURIComponent(uri))).then((b) => new Uint8Array(b)),
  });
  const issues = report.issues;
  results.push({
    path: file,
    numErrors: issues.numErrors,
    numWarnings: issues.numWarnings,
    numInfos: issues.numInfos,
    messages: issues.messages.map((m) => ({ code: m.code, severity: m.severity, pointer: m.pointer, message: m.message })),
  });
}
process.stdout.write(JSON.stringify(results, null, 1) + "\n");
// exitCode, not process.exit(): exiting at once would cut a long report written to a pipe at 64 kB
process.exitCode = results.some((r) => r.numErrors > 0) ? 1 : 0;
