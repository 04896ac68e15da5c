// js_on_load of the conversation (gr.HTML): `element`, `trigger` and `watch` come from Gradio.
// [n] shows its paragraph in the source panel (all of them are already there, hidden);
// 👍/👎 go to the server. Only data-* values written by web/views.py are read; no text from
// the page is ever evaluated.
const phone = () => window.matchMedia("(max-width: 720px)").matches;

element.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-act]");
  if (!b || !element.contains(b)) return;
  if (b.dataset.act === "cite") {
    element.querySelectorAll("button.cite").forEach((x) => {
      x.setAttribute("aria-pressed", String(x === b));
    });
    const panel = document.getElementById("source");
    if (!panel) return;
    let found = false;
    panel.querySelectorAll(".src").forEach((s) => {
      s.hidden = s.dataset.key !== b.dataset.key;
      found = found || !s.hidden;
    });
    const empty = panel.querySelector(".src-empty");
    if (empty) empty.hidden = found;
    if (phone()) panel.scrollIntoView({ block: "start", behavior: "smooth" });
  } else if (b.dataset.act === "rate") {
    trigger("click", { turn: Number(b.dataset.turn), rating: b.dataset.rating });
  }
});

// a new answer: bring its question into view, at the top of the conversation's own scroll box
// (desktop) or of the screen (phone, where the page scrolls)
let seen = element.querySelectorAll(".turn").length;
watch("value", () => {
  const turns = element.querySelectorAll(".turn");
  if (turns.length > seen) {
    const last = turns[turns.length - 1];
    const box = document.getElementById("conversation");
    if (phone()) {
      last.scrollIntoView({ block: "start" });
    } else if (box) {
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    }
  }
  seen = turns.length;
});
