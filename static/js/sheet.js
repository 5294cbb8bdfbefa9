// The attendance sheet: every cell saves itself through htmx. This script makes each save's state
// visible (saving, saved, not saved with a retry), warns before leaving with unsaved cells, and
// lets Ctrl + arrow keys move between cells. Without it the sheet works as plain forms.
(function () {
  "use strict";
  var FORMS = ".cell-form, .understanding-form";

  function setState(form, state, text) {
    form.dataset.state = state;
    var status = form.querySelector(".cell-state");
    if (status) status.textContent = text;
  }

  function formOf(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.closest ? elt.closest(FORMS) : null;
  }

  var UNSAVED = '[data-state="error"], [data-state="saving"], [data-state="pending"]';

  document.addEventListener("htmx:beforeRequest", function (event) {
    // "Mark everyone present" redraws the sheet: never over a cell that is not saved yet.
    var markAll = event.detail.elt.closest && event.detail.elt.closest(".mark-all");
    if (markAll) {
      var unsaved = document.querySelector(UNSAVED);
      if (unsaved) {
        event.preventDefault();
        unsaved.querySelector(".cell-state").textContent = "Save or retry this cell first; nothing was marked.";
        unsaved.querySelector("select").focus();
      }
      return;
    }
    var form = formOf(event);
    if (!form) return;
    // Late or left early: wait for the minutes rather than saving (and refusing) without them.
    var presence = form.querySelector(".presence");
    var minutes = form.querySelector(".minutes");
    if (presence && minutes && /^(late|left_early)$/.test(presence.value) && !minutes.value) {
      event.preventDefault();
      setState(form, "pending", presence.value === "late" ? "How many minutes late?" : "How many minutes left early?");
      minutes.focus();
      return;
    }
    var retry = form.querySelector(".retry");
    if (retry) {
      // Keep keyboard focus in the cell: htmx puts it back on the select (it has an id) after the swap.
      if (document.activeElement === retry) form.querySelector("select").focus();
      retry.remove();
    }
    setState(form, "saving", "Saving…");
  });

  function failed(event, why) {
    var form = formOf(event);
    if (!form) return;
    setState(form, "error", why);
    if (!form.querySelector(".retry")) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry button small";
      retry.textContent = "Retry";
      retry.addEventListener("click", function () { htmx.trigger(form, "retry"); });
      form.querySelector(".cell-state").after(retry);
    }
  }

  document.addEventListener("htmx:sendError", function (event) {
    failed(event, "Not saved: no connection. Your entry is kept here.");
  });
  document.addEventListener("htmx:responseError", function (event) {
    failed(event, "Not saved: the server had a problem (" + event.detail.xhr.status + ").");
  });

  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector(UNSAVED)) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Ctrl + arrow keys: the same control in the neighbouring cell (Ctrl + left/right keeps its
  // usual word jump inside a text box).
  var MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  document.addEventListener("keydown", function (event) {
    var move = MOVES[event.key];
    if (!move || !event.ctrlKey) return;
    var here = event.target;
    if (move[1] && here.matches && here.matches("input[type=text], input:not([type]), input[type=number]")) return;
    var cell = here.closest && here.closest(".sheet td, .sheet th");
    if (!cell) return;
    var table = cell.closest("table");
    var row = cell.parentElement.rowIndex + move[0];
    var col = cell.cellIndex + move[1];
    var target = table.rows[row] && table.rows[row].cells[col];
    var same = here.className ? "." + here.className.trim().split(/\s+/)[0] : null;
    var control = target && ((same && target.querySelector(same)) || target.querySelector("select, input:not([type=hidden]), button"));
    if (control) {
      event.preventDefault();
      control.focus();
    }
  });
})();
