/* The form builder: add, move and remove field rows, and show only the settings that apply. */
(function () {
  "use strict";
  var builder = document.getElementById("builder");
  var list = document.getElementById("field-rows");
  var template = document.getElementById("field-row-template");
  var total = document.getElementById("id_fields-TOTAL_FORMS");
  var LEAD_TYPES = { email: ["email"], phone: ["tel"], custom: null };

  function pick(row, suffix) { return row.querySelector("[name$='-" + suffix + "']"); }

  function renumber() {
    Array.prototype.forEach.call(list.children, function (row, index) {
      pick(row, "position").value = index;
      row.querySelector(".field-row-number").textContent = index + 1;
    });
  }

  function sync(row) {
    row.dataset.maps = pick(row, "maps_to").value;
    row.dataset.type = pick(row, "type").value;
  }

  function fitType(row) {
    var maps = pick(row, "maps_to").value, type = pick(row, "type");
    var allowed = maps in LEAD_TYPES ? LEAD_TYPES[maps] : ["text", "select"];
    if (allowed && allowed.indexOf(type.value) === -1) type.value = allowed[0];
    var label = pick(row, "label");
    if (!label.value && maps !== "custom") label.value = pick(row, "maps_to").selectedOptions[0].textContent;
  }

  document.getElementById("add-field").addEventListener("click", function () {
    var index = Number(total.value);
    list.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index));
    total.value = index + 1;
    var row = list.lastElementChild;
    pick(row, "maps_to").value = "custom";
    pick(row, "type").value = "text";
    sync(row);
    renumber();
    pick(row, "label").focus();
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-move]");
    if (!button) return;
    var row = button.closest(".field-row");
    if (button.dataset.move === "up" && row.previousElementSibling) list.insertBefore(row, row.previousElementSibling);
    if (button.dataset.move === "down" && row.nextElementSibling) list.insertBefore(row.nextElementSibling, row);
    renumber();
    button.focus();
  });

  list.addEventListener("change", function (event) {
    var row = event.target.closest(".field-row");
    if (!row) return;
    if (/-maps_to$/.test(event.target.name)) fitType(row);
    sync(row);
  });

  function follow(name, key) {
    function update() {
      var checked = builder.querySelector("input[name='" + name + "']:checked");
      builder.dataset[key] = checked ? checked.value : "";
    }
    builder.addEventListener("change", function (event) { if (event.target.name === name) update(); });
    update();
  }

  follow("consent_mode", "consent");
  follow("success_action", "success");
  Array.prototype.forEach.call(list.children, sync);
  renumber();
})();
