// Injected by `cargo xtask bench render` and `soak` with WebDriver
// `execute` at the start of the measured window, into either page: records
// each animation frame's time and counts the readings texts the page
// writes (character data or children of a `.readings` element changed).
// The observer costs both pages the same. Returns the page's clock offset,
// Date.now() - performance.now().
const r = (window.benchRender = { times: [], on: true, updates: 0 });
const observer = new MutationObserver((records) => {
  if (!r.on) return;
  for (const m of records) {
    const el = m.target.nodeType === 3 ? m.target.parentNode : m.target;
    if (el && el.classList && el.classList.contains("readings")) r.updates++;
  }
});
observer.observe(document.body, { characterData: true, childList: true, subtree: true });
r.stop = () => { r.on = false; observer.disconnect(); };
const frame = (t) => {
  if (!r.on) return;
  r.times.push(t);
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
return Date.now() - performance.now();
