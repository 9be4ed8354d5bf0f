// Prints, as JSON, every service that the compiled gen/ts modules export:
//   { "<typeName>": [{ "name", "methodKind", "input", "output" }, ...] }
// Usage: node tests/contract/ts_services.mjs DIR   (DIR: tsc output of gen/ts, inside the repo so
// that @bufbuild/protobuf resolves from node_modules). Run by test_generated_ts.py.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function* modules(dir) {
  const entries = readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* modules(path);
    else if (entry.name.endsWith("_pb.js")) yield path;
  }
}

const services = {};
for (const path of modules(resolve(process.argv[2]))) {
  const module = await import(pathToFileURL(path).href);
  for (const value of Object.values(module)) {
    if (value !== null && typeof value === "object" && value.kind === "service") {
      services[value.typeName] = value.methods.map((method) => ({
        name: method.name,
        methodKind: method.methodKind,
        input: method.input.typeName,
        output: method.output.typeName,
      }));
    }
  }
}
process.stdout.write(JSON.stringify(services));
