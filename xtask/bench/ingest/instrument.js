// Injected by `cargo xtask bench ingest` with WebDriver `execute` just
// before the flood, into every page: records each animation frame's time,
// and arms the page's done signal. Pages (a) and (b) count messages
// themselves (`bench.arm(target)`: done when `target` have arrived).
// Plugboard cannot count, so there the done signal is the moment the
// sentinel's state (sent after the flood) reads `want`: a MutationObserver
// on its tile, and each frame's check in case the tile is replaced.
// Arguments: target (messages to count), sentinel (a data-testid, or null
// for a counting page), want (the sentinel's final text).
// Returns the page's clock offset, Date.now() - performance.now().
const [target, sentinel, want] = arguments;
if (sentinel) {
  window.bench = { state: "subscribed", error: null, count: null, target,
                   first: null, last: null, endWall: null };
} else {
  window.bench.arm(target);
}
const bench = window.bench;
const frames = (window.benchFrames = { times: [], on: true });
const check = () => {
  if (bench.endWall !== null) return;
  const el = document.querySelector(`[data-testid="${sentinel}"]`);
  if (el && el.textContent.trim() === want) {
    bench.last = performance.now();
    bench.endWall = Date.now();
  }
};
if (sentinel) {
  // The moment the sentinel's tile changes (the page paints it in that
  // frame); if the page replaces the tile instead, the next frame's check.
  const el = document.querySelector(`[data-testid="${sentinel}"]`);
  const tile = el && (el.closest("article") || el.parentNode);
  if (tile) {
    new MutationObserver(check).observe(tile, {
      childList: true, characterData: true, subtree: true,
    });
  }
}
const frame = (t) => {
  if (!frames.on) return;
  frames.times.push(t);
  if (sentinel) check();
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
return Date.now() - performance.now();
