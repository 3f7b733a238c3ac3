// A little help where it truly helps; every page works without it.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  // The store switcher goes as soon as another store is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  // Times are written in UTC; show them in the reader's own time zone.
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach((time) => {
    const when = new Date(time.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) time.textContent = format.format(when);
  });
});
