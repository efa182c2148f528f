// The mnemo viewer in real headless Chromium, driven by playwright-core.
// Started by crates/mnemo/tests/viewer.rs, which seeds a data directory,
// starts `mnemo serve` and passes (environment):
//   MNEMO_VIEWER_URL  the URL `mnemo serve` printed (with its token)
//   MNEMO_BIN         the mnemo binary (for hooks run as other processes)
//   MNEMO_HOME        the data directory
//   MNEMO_PROJECT     a project directory for the live episode
//   CHROMIUM          the browser executable
//   SCREENSHOT_DIR    where to save screenshots of the main views
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const URL_WITH_TOKEN = process.env.MNEMO_VIEWER_URL;
const BASE = URL_WITH_TOKEN.split("#")[0];
const SHOTS = process.env.SCREENSHOT_DIR;
mkdirSync(SHOTS, { recursive: true });

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let browser;
let context;
let page;
const problems = [];

function watch(p, label) {
  p.on("pageerror", (err) => problems.push(`${label}: page error: ${err.message}`));
  p.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`${label}: console error: ${msg.text()}`);
  });
  p.on("dialog", async (dialog) => {
    problems.push(`${label}: a dialog opened: ${dialog.message()}`);
    await dialog.dismiss();
  });
}

async function shot(p, name) {
  await p.waitForTimeout(350); // let transitions settle
  await p.screenshot({ path: join(SHOTS, `${name}.png`) });
}

function card(p, title) {
  return p.locator(".card", { has: p.locator(".card-title", { hasText: title }) });
}

async function ready(p) {
  await p.waitForSelector("html[data-ready=true]", { timeout: 15000 });
}

// A new browser context with `options`, its page watched and the viewer
// opened with the printed URL.
async function openViewer(label, options) {
  const opened = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const p = await opened.newPage();
  watch(p, label);
  await p.goto(URL_WITH_TOKEN);
  await ready(p);
  return [opened, p];
}

async function clearSearch(p) {
  await p.fill("#q", "");
  await p.waitForFunction(() => !document.querySelector(".bar-title"));
}

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true, args: FLAGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  page = await context.newPage();
  watch(page, "light");
});

after(async () => {
  await browser?.close();
});

test("the printed URL opens the viewer and becomes a session cookie", async () => {
  await page.goto(URL_WITH_TOKEN);
  await ready(page);
  assert.equal(await page.evaluate(() => location.hash), "", "the token leaves the address bar");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name.startsWith("mnemo_session_"));
  assert.ok(session, "a session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read it");
  const readyAt = await page.evaluate(() => performance.getEntriesByName("mnemo:ready")[0].startTime);
  console.log(`# viewer ready (first page of memories shown) ${readyAt.toFixed(0)} ms after navigation`);
  await page.reload();
  await ready(page);
  assert.ok((await page.locator(".card").count()) > 0, "the cookie alone keeps it open");
});

test("seeded observations show, grouped by day and session", async () => {
  await page.waitForSelector(".card");
  assert.ok((await page.locator(".card").count()) >= 10);
  assert.equal(await card(page, "fibonacci() raises ValueError for negative n").count(), 1);
  const days = await page.locator("h2.day .day-label").allTextContents();
  assert.equal(days[0], "Today");
  assert.ok(days.includes("Yesterday"), days.join(", "));
  assert.ok((await page.locator(".group-head", { hasText: "Session" }).count()) >= 2);
  const badge = card(page, "fibonacci() raises ValueError for negative n").locator(".type");
  assert.equal((await badge.textContent()).trim(), "●Bugfix");
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "timeline-light");
});

test("search finds and highlights the expected card, and it expands", async () => {
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "q", "/ focuses search");
  await page.keyboard.type("tax rounding");
  await page.locator(".bar-title", { hasText: "tax rounding" }).waitFor();
  const hit = card(page, "Tax rounding used float arithmetic");
  await hit.waitFor();
  assert.match(await page.locator(".bar-title").textContent(), /results? for/);
  const marks = await hit.locator("mark").allTextContents();
  assert.deepEqual(marks.map((m) => m.toLowerCase()).sort(), ["rounding", "tax"]);
  await shot(page, "search");
  await hit.click();
  await hit.locator(".narrative").waitFor();
  assert.equal(await hit.getAttribute("aria-expanded"), "true");
  assert.match(await hit.locator(".narrative").textContent(), /Decimal/);
  assert.match(await hit.locator(".facts").textContent(), /cent/);
  await clearSearch(page);
});

test("titles show inline code as code, never raw backticks", async () => {
  const discovery = page.locator(".card", { has: page.locator(".card-title code", { hasText: "Cart.visit_number" }) });
  await discovery.waitFor();
  const title = await discovery.locator(".card-title").textContent();
  assert.ok(!title.includes("`"), title);
  assert.deepEqual(await discovery.locator(".card-title code").allTextContents(), ["Cart.visit_number", "ValueError"]);
  assert.ok(!(await discovery.getAttribute("aria-label")).includes("`"));
});

test("an edit's card lists every tool call of its episode, the failed one marked with its output", async () => {
  const fix = card(page, "fibonacci() raises ValueError for negative n");
  await fix.click();
  await fix.locator(".calls").waitFor();
  const tools = await fix.locator(".calls .tool").allTextContents();
  for (const tool of ["Read", "Edit", "Bash"]) assert.ok(tools.includes(tool), `${tool} in ${tools.join(", ")}`);
  const failed = fix.locator(".calls li.failed");
  assert.equal(await failed.count(), 1, "one failed call");
  assert.match(await failed.locator("code").textContent(), /python fibonacci\.py -5/);
  assert.match(await failed.locator(".call-failed").textContent(), /failed/);
  const output = failed.locator("details.call-output");
  assert.equal(await output.evaluate((d) => d.open), false, "output starts folded");
  assert.equal(await output.locator("pre").isVisible(), false);
  await output.locator("summary").click();
  assert.match(await output.locator("pre").textContent(), /RecursionError/);
  assert.match(await fix.locator("h4", { hasText: "Tool calls" }).textContent(), /1 failed/);
  await failed.scrollIntoViewIfNeeded();
  await shot(page, "tool-calls");
  await fix.locator(".card-head").click(); // close again
});

test("the sticky day heading never covers an expanded card", async () => {
  const fix = card(page, "fibonacci() raises ValueError for negative n");
  // Scroll the card's top under the heading, then open it by its meta line.
  await fix.scrollIntoViewIfNeeded();
  await page.evaluate(() => {
    const el = [...document.querySelectorAll(".card")].find((c) => c.textContent.includes("raises ValueError for negative n"));
    window.scrollBy(0, el.getBoundingClientRect().top - 70);
  });
  await fix.locator(".card-meta").click();
  await fix.locator(".diff").first().waitFor();
  const { cardTop, headingBottom } = await page.evaluate(() => {
    const el = [...document.querySelectorAll(".card")].find((c) => c.textContent.includes("raises ValueError for negative n"));
    const cardTop = el.getBoundingClientRect().top;
    const stuck = [...document.querySelectorAll("h2.day")].map((d) => d.getBoundingClientRect())
      .filter((r) => r.top <= cardTop && r.bottom > 0);
    return { cardTop, headingBottom: Math.max(0, ...stuck.map((r) => r.bottom)) };
  });
  assert.ok(cardTop >= headingBottom, `card top ${cardTop} under the heading ending at ${headingBottom}`);
  await fix.locator(".card-head").click(); // close again
});

test("an edit's card shows its prompt and diff", async () => {
  const fix = card(page, "fibonacci() raises ValueError for negative n");
  await fix.click();
  await fix.locator(".diff").first().waitFor();
  const added = await fix.locator(".diff .add").allTextContents();
  assert.ok(added.some((l) => l.includes("if n < 0:")), added.join("\n"));
  assert.match(await fix.locator(".prompt").textContent(), /crashes with a giant traceback/);
  await fix.scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, -90));
  await shot(page, "expanded-light");
  await fix.locator(".card-head").click(); // close again
});

test("two projects with the same name are told apart, full path on hover", async () => {
  const options = await page.locator("#f-project option").evaluateAll((els) => els.map((o) => ({ text: o.textContent, root: o.value, title: o.title })));
  const shops = options.filter((o) => o.root.endsWith("/shop"));
  assert.equal(shops.length, 2, JSON.stringify(options));
  const labels = shops.map((o) => o.text.replace(/ \(\d+\)$/, ""));
  assert.notEqual(labels[0], labels[1]);
  for (const [i, o] of shops.entries()) {
    assert.ok(o.root.endsWith(`/${labels[i]}`) && labels[i].includes("/"), `${labels[i]} is a suffix of ${o.root}`);
    assert.equal(o.title, o.root);
  }
  assert.ok(labels.includes("clients/shop"), labels.join(", "));
  const other = page.locator(".group-head", { hasText: "clients/shop" });
  await other.waitFor();
  assert.equal(await other.locator("[title='/srv/clients/shop']").count(), 1);
});

test("times are local with their offset from UTC", async () => {
  const [zoned, p] = await openViewer("zoned", { timezoneId: "Asia/Kolkata" });
  const zones = await p.locator("h2.day .day-zone").allTextContents();
  assert.ok(zones.length > 0 && zones.every((z) => z === "UTC+05:30"), zones.join(", "));
  const fix = card(p, "fibonacci() raises ValueError for negative n");
  const shown = await fix.locator("time").getAttribute("title");
  assert.match(shown, /^\d{4}-\d\d-\d\d \d\d:\d\d \+05:30$/);
  const id = (await fix.getAttribute("data-id"));
  const cli = execFileSync(process.env.MNEMO_BIN, ["show", id], { env: { ...process.env, TZ: "<+0530>-5:30" } }).toString();
  assert.ok(cli.includes(shown), `mnemo show prints the same time (${shown}):\n${cli}`);
  await zoned.close();
});

test("filters narrow the timeline", async () => {
  await page.click(".type-toggle[data-type=decision]");
  await page.waitForFunction(() => {
    const cards = [...document.querySelectorAll(".card")];
    return document.querySelector("#feed").getAttribute("aria-busy") === "false" &&
      cards.length > 0 && cards.every((c) => c.classList.contains("card-decision"));
  });
  const decisions = await page.locator(".card").count();
  assert.ok(decisions >= 2, `${decisions} decisions`);
  await page.selectOption("#f-project", "/src/billing");
  await page.waitForFunction(() => document.querySelectorAll(".card").length === 1);
  assert.equal(await card(page, "Invoices are numbered per year, not globally").count(), 1);
  await page.fill("#f-file", "nothing-matches.rs");
  await page.locator(".empty", { hasText: "No memories match" }).waitFor();
  await page.click("#f-clear");
  await card(page, "fibonacci() raises ValueError for negative n").waitFor();
});

test("the author menu lists teammates and keeps their memories", async () => {
  await page.locator("#f-author-field").waitFor();
  const options = await page.locator("#f-author option").evaluateAll((els) => els.map((o) => [o.value, o.textContent]));
  assert.deepEqual(options, [["", "Everyone"], ["Ada", "Ada (1)"]]);
  await page.selectOption("#f-author", "Ada");
  await page.waitForFunction(() => document.querySelectorAll(".card").length === 1);
  const only = card(page, "Refunds go back to the card they came from");
  assert.equal(await only.count(), 1);
  assert.equal((await only.locator(".meta-author").textContent()).trim(), "by Ada");
  // "card" also finds the gift cards of someone else's memory.
  await page.fill("#q", "card");
  await page.waitForFunction(() => document.querySelector(".bar-title") &&
    document.querySelectorAll(".card").length === 1 && document.querySelector(".card").textContent.includes("Refunds"));
  await clearSearch(page);
  await page.selectOption("#f-author", "");
  await card(page, "fibonacci() raises ValueError for negative n").waitFor();
  assert.ok(await page.locator(".card").count() > 1);
});

test("keyboard: j and k move, Enter opens", async () => {
  await page.locator("#main").focus();
  const selected = () => page.evaluate(() => document.querySelector(".card.selected").dataset.id);
  const cards = await page.locator(".card").evaluateAll((els) => els.map((e) => e.dataset.id));
  await page.keyboard.press("j");
  const first = await selected();
  await page.keyboard.press("j");
  assert.equal(await selected(), cards[cards.indexOf(first) + 1], "j moves down");
  await page.keyboard.press("k");
  assert.equal(await selected(), first, "k moves up");
  await page.keyboard.press("Enter");
  await page.locator(".card.selected .card-details:not([hidden])").waitFor();
  await page.keyboard.press("Enter");
});

test("a memory made by a hook in another process appears live", async () => {
  const cwd = process.env.MNEMO_PROJECT;
  const session = "live-browser-session";
  const hook = (payload) =>
    execFileSync(process.env.MNEMO_BIN, ["hook"], {
      input: JSON.stringify({ session_id: session, cwd, ...payload }),
      env: { ...process.env, MNEMO_COMPRESS_STOP_WAIT_MS: "0" },
    });
  const countBefore = await page.locator(".card").count();
  hook({ hook_event_name: "UserPromptSubmit", prompt: "make the yaml loader reject duplicate keys" });
  hook({
    hook_event_name: "PostToolUse", tool_name: "Edit", tool_use_id: "toolu_live_yaml",
    tool_input: { file_path: `${cwd}/loader.py`, old_string: "    return yaml.safe_load(text)", new_string: "    return yaml.load(text, Loader=UniqueKeyLoader)" },
    tool_response: { filePath: `${cwd}/loader.py` },
  });
  const exited = Date.now();
  hook({ hook_event_name: "Stop", last_assistant_message: "The yaml loader now rejects duplicate keys with a ConstructorError instead of silently keeping the last one." });
  const live = page.locator(".card[data-live]", { hasText: "duplicate keys" });
  await live.first().waitFor({ timeout: 10000 });
  console.log(`# live card shown ${Date.now() - exited} ms after the hooks ran`);
  assert.ok((await page.locator(".card").count()) > countBefore);
  assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation").length), 1, "no reload");
  await shot(page, "live");
});

test("forget hides a memory, undo brings it back, and both persist", async () => {
  const title = "Invoices are numbered per year, not globally";
  const target = card(page, title);
  await target.click();
  await target.locator("button", { hasText: "Forget" }).click();
  await target.waitFor({ state: "detached" });
  const toast = page.locator("#toast");
  assert.match(await toast.textContent(), /Forgot #\d+/);
  await shot(page, "forget-toast");
  await toast.locator("button", { hasText: "Undo" }).click();
  await card(page, title).waitFor();
  await page.reload();
  await ready(page);
  await card(page, title).waitFor();
  // Forget with the keyboard this time; it stays forgotten after a reload.
  await card(page, title).click();
  await page.locator("#main").focus();
  await page.keyboard.press("d");
  await card(page, title).waitFor({ state: "detached" });
  await page.reload();
  await ready(page);
  assert.equal(await card(page, title).count(), 0);
});

test("planted script and onerror payloads show as text and never run", async () => {
  await page.fill("#q", "payload");
  await page.locator(".bar-title", { hasText: "payload" }).waitFor();
  const evil = card(page, "<img src=x onerror=\"window.__xss='title'\">");
  await evil.waitFor();
  await evil.click();
  await evil.locator(".narrative").waitFor();
  assert.match(await evil.locator(".narrative").textContent(), /<script>window.__xss='narrative'<\/script>/);
  const imported = card(page, "<script>window.__xss='import'</script> import payload");
  await imported.click();
  await imported.locator(".facts").waitFor();
  assert.match(await imported.locator(".facts").textContent(), /<img src=x onerror=window.__xss='fact'>/);
  assert.equal(await page.locator(".feed img:not([src='/icon.svg']), .feed script").count(), 0, "no element was made from data");
  assert.equal(await page.evaluate(() => window.__xss), undefined, "nothing ran");
  await shot(page, "xss-as-text");
  await clearSearch(page);
});

test("the context preview shows what SessionStart injects", async () => {
  await page.keyboard.press("Escape");
  await page.click("#context-toggle");
  await page.locator("#ctx-text", { hasText: "<mnemo-context>" }).waitFor();
  const text = await page.locator("#ctx-text").textContent();
  const expected = execFileSync(process.env.MNEMO_BIN, ["context", "--project", process.env.MNEMO_PROJECT]).toString();
  assert.equal(`${text}\n`, expected, "exactly what mnemo context prints");
  assert.match(await page.locator("#ctx-tokens").textContent(), /\d+ of 1,?000 tokens/);
  await shot(page, "context-panel");
  await page.click("#context-close");
});

test("sessions view lists sessions with prompts and summaries", async () => {
  await page.click(".tab[data-view=sessions]");
  await page.locator(".session").first().waitFor();
  assert.ok((await page.locator(".session").count()) >= 3);
  const first = page.locator(".session").first();
  await first.locator("button", { hasText: "Prompts and summaries" }).click();
  await first.locator(".prompt-list li").first().waitFor();
  await shot(page, "sessions");
  await page.click(".tab[data-view=timeline]");
  await page.waitForSelector(".card");
});

test("stats show counts and LLM spend", async () => {
  const stats = await page.locator("#stats").textContent();
  assert.match(stats, /Memories\s*\d+/);
  assert.match(await page.locator("#spend").textContent(), /LLM spend/);
});

test("dark theme follows the system setting", async () => {
  const [dark, p] = await openViewer("dark", { colorScheme: "dark" });
  const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, "rgb(246, 246, 248)", "not the light background");
  await shot(p, "timeline-dark");
  const fix = card(p, "fibonacci() raises ValueError for negative n");
  await fix.click();
  await fix.locator(".diff").first().waitFor();
  await fix.scrollIntoViewIfNeeded();
  await p.evaluate(() => window.scrollBy(0, -90));
  await shot(p, "expanded-dark");
  await p.click("#context-toggle");
  await p.locator("#ctx-text", { hasText: "<mnemo-context>" }).waitFor();
  await shot(p, "context-dark");
  await dark.close();
});

test("usable in a narrow window", async () => {
  const [narrow, p] = await openViewer("narrow", { viewport: { width: 390, height: 844 }, colorScheme: "light", isMobile: false });
  assert.equal(await p.locator("#sidebar").isVisible(), true, "rendered off-canvas");
  await shot(p, "timeline-narrow");
  // Titles wrap between words: a word is split over lines only when it is
  // wider than the title itself.
  const split = await p.evaluate(() => {
    const found = [];
    for (const title of document.querySelectorAll(".card-title")) {
      const width = title.getBoundingClientRect().width;
      const walker = document.createTreeWalker(title, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.data.matchAll(/\S+/gu)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const rects = [...range.getClientRects()].filter((r) => r.width > 0);
          const lines = new Set(rects.map((r) => Math.round(r.top)));
          if (lines.size > 1 && range.getBoundingClientRect().width < width) found.push(m[0]);
        }
      }
    }
    return found;
  });
  assert.deepEqual(split, [], "words cut across lines");
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px)`);
  await p.click("#menu");
  await p.locator("body.drawer-open").waitFor();
  await shot(p, "filters-narrow");
  await p.keyboard.press("Escape");
  const fix = card(p, "fibonacci() raises ValueError for negative n");
  await fix.click();
  await fix.locator(".diff").first().waitFor();
  await fix.scrollIntoViewIfNeeded();
  await shot(p, "expanded-narrow");
  await narrow.close();
});

test("without the token the viewer is locked", async () => {
  const stranger = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await stranger.newPage();
  const failed = [];
  p.on("response", (r) => { if (r.url().includes("/api/")) failed.push(r.status()); });
  await p.goto(BASE);
  await p.locator("#banner", { hasText: "locked" }).waitFor();
  const banner = await p.locator("#banner").textContent();
  assert.ok(!/one-time/i.test(banner), banner);
  assert.match(banner, /#token=/);
  assert.match(banner, /does not expire/);
  assert.match(banner, /mnemo serve/);
  await shot(p, "locked");
  assert.ok(failed.length > 0 && failed.every((s) => s === 401), failed.join(","));
  assert.equal(await p.locator(".card").count(), 0);
  await stranger.close();
});

test("no page errors, console errors or dialogs", () => {
  assert.deepEqual(problems, []);
});
