// Progressive enhancement only: every page works without this script.
"use strict";

// Branching: show a question only when the question it depends on has the right answer.
function applyBranching(form) {
  form.querySelectorAll("[data-asked-when]").forEach(function (block) {
    var name = block.getAttribute("data-asked-when");
    var wanted = block.getAttribute("data-asked-value");
    var chosen = form.querySelector('input[name="' + name + '"]:checked');
    var source = form.querySelector('[name="' + name + '"]');
    if (!source) { return; } // the question it depends on is on another step
    var show = chosen !== null && chosen.value === wanted;
    block.hidden = !show;
    var note = block.querySelector(".condition");
    if (note) { note.hidden = true; }
  });
}

// Offer only the sub-areas of the chosen area.
function filterSubAreas(form) {
  var select = form.querySelector('select[name="sub_area"]');
  var chosen = form.querySelector('input[name="area"]:checked');
  if (!select || !chosen) { return; }
  var label = form.querySelector('label[for="area-' + chosen.value + '"]');
  var areaName = label ? label.textContent.trim() : "";
  select.querySelectorAll("optgroup").forEach(function (group) {
    var match = group.label === areaName;
    group.hidden = !match;
    group.disabled = !match;
    if (!match) {
      group.querySelectorAll("option").forEach(function (o) { o.selected = false; });
    }
  });
}

// Screen the partner name against the register while the officer types.
function liveRegisterMatch(input) {
  var target = document.getElementById(input.getAttribute("data-register-match"));
  if (!target) { return; }
  var timer = null;
  var last = input.value;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var name = input.value.trim();
      if (name === last) { return; }
      last = name;
      fetch("/register/match?name=" + encodeURIComponent(name), { headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { target.innerHTML = html; })
        .catch(function () { /* the button still checks without the script */ });
    }, 350);
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(function (form) {
    applyBranching(form);
    filterSubAreas(form);
    form.addEventListener("change", function () {
      applyBranching(form);
      filterSubAreas(form);
    });
  });
  document.querySelectorAll("[data-register-match]").forEach(liveRegisterMatch);
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});

// Refresh a progress fragment while work is still running.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-poll]").forEach(function (box) {
    var url = box.getAttribute("data-poll");
    function busy() { return /\b(queued|running)\b/.test(box.textContent); }
    function tick() {
      if (!busy()) { return; }
      fetch(url, { headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } setTimeout(tick, 2000); })
        .catch(function () { setTimeout(tick, 5000); });
    }
    setTimeout(tick, 2000);
  });
});

// Character counts on long fields: the limit is checked by the server with a message;
// this only says how many characters are left, and never cuts what was typed.
function characterCount(field) {
  var max = parseInt(field.getAttribute("data-maxlength"), 10);
  var note = document.getElementById(field.id + "-count");
  if (!max || !note) { return; }
  function update() {
    var left = max - Array.from(field.value).length;
    note.textContent = left >= 0
      ? "You have " + left.toLocaleString("en-GB") + " character" + (left === 1 ? "" : "s") + " remaining"
      : "You have " + (-left).toLocaleString("en-GB") + " character" + (left === -1 ? "" : "s") + " too many";
    note.classList.toggle("over", left < 0);
  }
  field.addEventListener("input", update);
  update();
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-maxlength]").forEach(characterCount);
  // The step list is open on wide screens and folded on phones.
  document.querySelectorAll("details[data-open-wide]").forEach(function (d) {
    if (window.matchMedia("(min-width: 50em)").matches) { d.open = true; }
  });
});
