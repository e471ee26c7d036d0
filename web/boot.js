// Starts the app. Trunk writes the names of this build's JS and wasm (they
// carry a content hash) on the <script> element that loads this file, so the
// page has no inline script and its Content-Security-Policy needs none.
const boot = document.getElementById("plugboard-boot");
const bindings = await import(boot.dataset.js);
const wasm = await bindings.default({ module_or_path: boot.dataset.wasm });
// The end-to-end tests and benchmarks read the exports (wasm memory size).
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", { detail: { wasm } }));
