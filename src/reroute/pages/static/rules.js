// The rules editor: line numbers that follow the text as it is typed and scrolled, and each
// listed error taking the caret to its line. Without it the page still numbers the lines
// as sent and marks the lines of each error.
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("document");
  const gutter = document.getElementById("rules-gutter");
  if (!text || !gutter) return;
  const bad = new Set((text.dataset.badLines || "").split(",").filter(Boolean).map(Number));

  const number = () => {
    const count = text.value.split("\n").length;
    if (count === gutter.childElementCount) return;
    const lines = document.createDocumentFragment();
    for (let n = 1; n <= count; n += 1) {
      const line = document.createElement("span");
      line.textContent = String(n);
      line.dataset.line = String(n);
      if (bad.has(n)) line.className = "bad";
      lines.appendChild(line);
    }
    gutter.replaceChildren(lines);
  };
  const follow = () => { gutter.scrollTop = text.scrollTop; };
  text.addEventListener("input", () => { number(); follow(); });
  text.addEventListener("scroll", follow);

  // Start of line `n` (1-based) in the text, and the caret put there (at `column` if given).
  const goTo = (n, column) => {
    const lines = text.value.split("\n");
    const line = Math.min(Math.max(n, 1), lines.length);
    let start = 0;
    for (let i = 0; i < line - 1; i += 1) start += lines[i].length + 1;
    const end = start + lines[line - 1].length;
    text.focus();
    if (column) text.setSelectionRange(start + column - 1, start + column - 1);
    else text.setSelectionRange(start, end);
    const height = text.scrollHeight / lines.length;
    text.scrollTop = Math.max(0, (line - 3) * height);
    follow();
    text.scrollIntoView({ block: "nearest" });
  };
  document.querySelectorAll("a.goto[data-line]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      goTo(Number(link.dataset.line), Number(link.dataset.column || 0));
    });
  });
});
