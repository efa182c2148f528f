// First paint of the mnemo viewer, for `cargo bench -p mnemo --bench serve`:
// loads MNEMO_VIEWER_URL in headless Chromium (CHROMIUM), once with the
// token (the first visit) and then RUNS times with the session cookie, and
// prints the median first contentful paint and time until the first page
// of memories is on screen (the `mnemo:ready` mark), from navigation start.
import { chromium } from "playwright-core";

const runs = Number(process.env.RUNS || 15);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });

async function load(url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector("html[data-ready=true]", { timeout: 30000 });
  const times = await page.evaluate(() => ({
    fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
    ready: performance.getEntriesByName("mnemo:ready")[0].startTime,
  }));
  await page.close();
  return times;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const first = await load(process.env.MNEMO_VIEWER_URL);
const base = process.env.MNEMO_VIEWER_URL.split("#")[0];
await load(base); // warm-up
const samples = [];
for (let i = 0; i < runs; i++) samples.push(await load(base));
await browser.close();
console.log(`first visit (token exchange):     first paint ${first.fcp.toFixed(0)} ms, memories shown ${first.ready.toFixed(0)} ms`);
console.log(`later visits (median of ${runs}):      first paint ${median(samples.map((s) => s.fcp)).toFixed(0)} ms, memories shown ${median(samples.map((s) => s.ready)).toFixed(0)} ms`);
