// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so screen readers announce what went wrong.
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});

// A link in an error summary focuses its field and scrolls its label into view (following
// the link alone would leave the label above the window's top edge).
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-error-summary] a[href^='#']");
  const target = link && document.getElementById(link.getAttribute("href").slice(1));
  if (!target) {
    return;
  }
  event.preventDefault();
  const details = target.closest("details");
  if (details) {
    details.open = true;
  }
  const fieldset = target.closest("fieldset");
  const label =
    (fieldset && target.type === "radio" && fieldset.querySelector("legend")) ||
    document.querySelector(`label[for="${CSS.escape(target.id)}"]`);
  (label || target).scrollIntoView();
  target.focus({ preventScroll: true });
});

// An import job's page: poll its status and move the progress bar; reload when done.
document.addEventListener("DOMContentLoaded", () => {
  const section = document.querySelector("[data-job-status]");
  if (!section) {
    return;
  }
  const url = section.getAttribute("data-job-status");
  const bar = section.querySelector("progress");
  const phase = section.querySelector("[data-job-phase]");
  const label = section.querySelector("[data-job-label]");
  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        if (state.finished) {
          window.location.reload();
          return;
        }
        bar.value = state.percent;
        bar.textContent = `${state.percent} %`;
        label.textContent = state.label;
        phase.textContent = state.phase
          ? state.total ? `${state.phase}: ${state.done} / ${state.total}` : state.phase
          : "";
      }
    } catch (error) {
      // A lost connection: keep the last state and try again.
    }
    window.setTimeout(poll, 700);
  };
  window.setTimeout(poll, 300);
});

// Supplier suggestions from the server when the register has too many to list in the page.
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-suggest-url]")) {
    const list = document.getElementById(input.getAttribute("list"));
    const url = input.getAttribute("data-suggest-url");
    let timer = null;
    let pending = null;
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        const term = input.value.trim();
        if (term.length < 2) {
          return;
        }
        if (pending) {
          pending.abort();
        }
        pending = new AbortController();
        try {
          const response = await fetch(`${url}?q=${encodeURIComponent(term)}`, {
            headers: { Accept: "application/json" },
            signal: pending.signal,
          });
          if (!response.ok) {
            return;
          }
          const suppliers = await response.json();
          list.replaceChildren(
            ...suppliers.map((supplier) => {
              const option = document.createElement("option");
              option.value = supplier.label;
              return option;
            }),
          );
        } catch (error) {
          // Aborted by newer typing, or offline: the field still takes a number or name.
        }
      }, 200);
    });
  }
});
