"""The page check's probes (tests/test_ui_pages.py): what a person would notice on a page, as data.

    problems = check_page(page, responses, console)   # [] when the page is clean

Each probe runs in the page (one evaluate) and returns plain findings; axe-core comes from npm
(tests/axe, installed by devtools/test.sh) and is injected with a script tag.
"""
from __future__ import annotations

import os

AXE_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "axe", "node_modules", "axe-core", "axe.min.js")
ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts", "pages")

# Visible boxes that must not overlap one another: headings and every control. A box is clipped by
# its scrolling ancestors (a wide table scrolls inside its own container), and one that contains the
# other in the DOM (a link in a heading) is not an overlap.
LAYOUT_PROBE = r"""
() => {
  const out = { overflow: null, overlaps: [], bad_text: [], headings: [] };
  const doc = document.scrollingElement;
  if (doc.scrollWidth > window.innerWidth) out.overflow = [doc.scrollWidth, window.innerWidth];
  const shown = (node) => {
    const style = getComputedStyle(node);
    return style.visibility !== "hidden" && style.display !== "none" && node.getClientRects().length > 0;
  };
  // The element's box joined with its text's: text that spills out of a squeezed box overlaps too.
  const clipped = (node) => {
    const r = node.getBoundingClientRect();
    let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
    if (!["INPUT", "SELECT", "TEXTAREA"].includes(node.tagName)) {
      const range = document.createRange();
      range.selectNodeContents(node);
      const t = range.getBoundingClientRect();
      if (t.width && t.height) box = { l: Math.min(box.l, t.left), t: Math.min(box.t, t.top), r: Math.max(box.r, t.right), b: Math.max(box.b, t.bottom) };
    }
    for (let a = node.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX === "visible" && style.overflowY === "visible") continue;
      const c = a.getBoundingClientRect();
      box = { l: Math.max(box.l, c.left), t: Math.max(box.t, c.top), r: Math.min(box.r, c.right), b: Math.min(box.b, c.bottom) };
    }
    return box;
  };
  const label = (n) => `${n.tagName.toLowerCase()}${n.id ? "#" + n.id : ""} "${(n.innerText || n.value || n.getAttribute("aria-label") || "").trim().slice(0, 30)}"`;
  const nodes = [...document.querySelectorAll("h1, h2, h3, button, input, select, textarea, a[href], summary")]
    .filter((n) => shown(n) && !n.closest("details:not([open]) > :not(summary)"));
  const boxes = nodes.map((n) => [n, clipped(n)]).filter(([, b]) => b.r - b.l > 1 && b.b - b.t > 1);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [m, a] = boxes[i]; const [n, b] = boxes[j];
      if (m.contains(n) || n.contains(m)) continue;
      const w = Math.min(a.r, b.r) - Math.max(a.l, b.l); const h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
      if (w > 2 && h > 2) out.overlaps.push(`${label(m)} overlaps ${label(n)} (${Math.round(w)}×${Math.round(h)} px)`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (/\b(null|undefined|NaN)\b|\[object Object\]/.test(t.data) && t.parentElement && shown(t.parentElement)
        && !t.parentElement.closest("textarea, pre")) out.bad_text.push(t.data.trim().slice(0, 60));
  }
  out.headings = [...document.querySelectorAll("h1, h2, h3")].filter(shown).map((h) => [h.tagName, parseFloat(getComputedStyle(h).fontSize)]);
  return out;
}
"""


AXE_URL = "/__page-check__/axe.min.js"  # served to the browser by serve_axe, never by the CRM


def serve_axe(context) -> None:
    """Answer AXE_URL in `context` with the npm file: a same-origin script, as the pages' CSP
    (script-src 'self') requires, so the check runs under the real policy."""
    with open(AXE_JS, "rb") as handle:
        source = handle.read()
    context.route("**" + AXE_URL, lambda route: route.fulfill(body=source, content_type="text/javascript"))


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands (serve_axe first)."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(url=AXE_URL)
    result = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
                           ".filter((v) => ['serious', 'critical'].includes(v.impact))"
                           ".map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)")
    return result


def layout_problems(page) -> list[str]:
    found = page.evaluate(LAYOUT_PROBE)
    problems = []
    if found["overflow"]:
        problems.append("the page scrolls sideways: %d px wide in a %d px window" % tuple(found["overflow"]))
    problems += found["overlaps"]
    problems += [f"text reads {text!r}" for text in found["bad_text"]]
    levels = found["headings"]
    if not any(tag == "H1" for tag, _ in levels):
        problems.append("no h1")
    sizes = {tag: size for tag, size in reversed(levels)}
    if "H1" in sizes and "H2" in sizes and sizes["H2"] >= sizes["H1"]:
        problems.append(f"h2 ({sizes['H2']} px) is not smaller than h1 ({sizes['H1']} px)")
    return problems


def screenshot(page, name: str) -> str:
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name + ".png")
    # The whole page, down to four screens: enough to judge it, and a long timeline stays cheap.
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    tall = page.evaluate("() => document.scrollingElement.scrollHeight")
    page.screenshot(path=path, full_page=True, clip={"x": 0, "y": 0, "width": width, "height": min(tall, 4 * height)})
    return path
