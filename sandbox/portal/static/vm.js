/* «Операции с номерами»: drag and drop into the selection, the order panel and the «Документ» window. */
(function () {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const TEXTS = JSON.parse(byId("portal-texts").textContent);
  let state = JSON.parse(byId("selection-state").textContent);

  /* POST a JSON body (or GET without one); resolve to {ok, status, data}. */
  async function callApi(url, body) {
    const options = body === undefined ? {} : {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    };
    try {
      const response = await fetch(url, {credentials: "same-origin", ...options});
      const data = await response.json().catch(() => ({error: TEXTS.outage}));
      return {ok: response.ok, status: response.status, data};
    } catch (error) {
      return {ok: false, status: 0, data: {error: TEXTS.outage}};
    }
  }

  function showMessage(id, text) {
    byId(id).textContent = text || "";
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  /* The «Удалить» cell of a selection row. */
  function removeCell() {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "remove";
    button.textContent = TEXTS.remove;
    const td = document.createElement("td");
    td.append(button);
    return td;
  }

  /* Re-render the selection header, the table and the tree marks from the server's answer. */
  function render(next) {
    state = next;
    byId("selection-header").textContent = state.header;
    byId("doc-selection").textContent = state.header;
    byId("doc-count").textContent = state.chosen;
    const tbody = byId("selection-table").tBodies[0];
    tbody.replaceChildren(...state.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.number = row.number;
      tr.append(cell(row.type), cell(row.number), cell(row.folder), cell(row.full_name), removeCell());
      return tr;
    }));
    const selected = new Set(state.rows.map((row) => row.number));
    document.querySelectorAll("#tree li.subscriber").forEach((li) => {
      li.classList.toggle("selected", selected.has(li.dataset.number));
    });
    document.querySelectorAll("#tree li.account").forEach((li) => {
      li.classList.toggle("selected", li.querySelector("li.subscriber.selected") !== null);
    });
  }

  /* Send one change of the selection; resolve to whether the server accepted it. */
  async function changeSelection(body) {
    const result = await callApi("/selfcare/api/selection", body);
    if (result.ok) {
      render(result.data);
      showMessage("order-error", "");
    } else {
      showMessage("order-error", result.data.error);
    }
    return result.ok;
  }

  const tree = byId("tree");
  const dropzone = byId("selection");
  const picks = () => tree.querySelectorAll("li.subscriber input.pick");

  /* The numbers a subscriber carries along: the checked ones and itself, in tree order. */
  function carriedNumbers(item) {
    return [...tree.querySelectorAll("li.subscriber")]
      .filter((li) => li === item || li.querySelector("input.pick").checked)
      .map((li) => li.dataset.number);
  }

  /* "account:<n>", "number:<n>" or "numbers:<n>,<n>,…" of a tree item. */
  function dragPayload(item) {
    if (item.classList.contains("account")) return "account:" + item.dataset.account;
    const numbers = carriedNumbers(item);
    return numbers.length > 1 ? "numbers:" + numbers.join(",") : "number:" + item.dataset.number;
  }

  async function addPayload(payload) {
    const [kind, value] = payload.split(":");
    if (!value) return;
    if (kind === "account" || kind === "number") {
      changeSelection({add: {[kind]: value}});
    } else if (kind === "numbers" && await changeSelection({add: {numbers: value.split(",")}})) {
      picks().forEach((pick) => { pick.checked = false; });
    }
  }

  tree.addEventListener("dragstart", (event) => {
    const item = event.target.closest("li.subscriber, li.account");
    if (!item) return;
    event.stopPropagation();
    event.dataTransfer.setData("text/plain", dragPayload(item));
    event.dataTransfer.effectAllowed = "copy";
  });
  tree.addEventListener("dblclick", (event) => {
    const item = event.target.closest("li.subscriber, li.account");
    if (item && !event.target.matches("input.pick")) addPayload(dragPayload(item));
  });

  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    dropzone.classList.add("over");
  });
  dropzone.addEventListener("dragleave", (event) => {
    if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove("over");
  });
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("over");
    addPayload(event.dataTransfer.getData("text/plain"));
  });
  byId("selection-clear").addEventListener("click", () => changeSelection({clear: true}));
  byId("selection-table").addEventListener("click", (event) => {
    const button = event.target.closest("button.remove");
    if (button) changeSelection({remove: {number: button.closest("tr").dataset.number}});
  });

  /* «Фильтр» (or Enter in «Номер или лицевой счёт») asks the server for the matching
     accounts and numbers, page by page; «Выбранные» keeps only selected numbers of this page. */
  const selectedButton = byId("hierarchy-selected");
  selectedButton.addEventListener("click", () => {
    const pressed = selectedButton.getAttribute("aria-pressed") !== "true";
    selectedButton.setAttribute("aria-pressed", String(pressed));
    tree.classList.toggle("only-selected", pressed);
  });

  /* «Заказать документ»: the menu, refused while the selection cannot be ordered. */
  const toggle = byId("order-document-toggle");
  const menu = byId("order-menu");
  const dialog = byId("document-dialog");

  function showMenu(shown) {
    menu.hidden = !shown;
    toggle.setAttribute("aria-expanded", String(shown));
  }

  toggle.addEventListener("click", () => showMenu(menu.hidden));

  /* Close the menu once a document is chosen; show why it cannot be ordered, if so. */
  function refusedOrder() {
    showMenu(false);
    showMessage("order-result", "");
    showMessage("order-error", state.order_error);
    return Boolean(state.order_error);
  }

  /* The «Документ» window shows the fields and formats of one document at a time. */
  const form = byId("doc-form");
  const submit = byId("doc-submit");
  const accept = byId("doc-accept");
  const formatSelect = byId("doc-format");

  /* «Заказать» waits for «Я принимаю правила использования системы» where the document asks for it. */
  function updateSubmit() {
    submit.disabled = dialog.dataset.document === "call_details" && !accept.checked;
  }

  /* Open the window for "invoice" or "call_details", unless the selection cannot be ordered. */
  function openDocument(kind) {
    if (refusedOrder()) return;
    dialog.dataset.document = kind;
    byId("doc-kind").textContent = TEXTS.kinds[kind];
    dialog.querySelectorAll("[data-for]").forEach((element) => {
      const shown = element.dataset.for.split(" ").includes(kind);
      element.hidden = !shown;
      if (element instanceof HTMLOptionElement) element.disabled = !shown;
    });
    formatSelect.value = formatSelect.querySelector("option:not([disabled])").value;
    accept.checked = false;
    updateSubmit();
    showMessage("doc-error", "");
    byId("doc-selection").textContent = state.header;
    byId("doc-count").textContent = state.chosen;
    dialog.showModal();
    byId("doc-email").focus();
  }

  /* The order request for the document the window shows. */
  function orderRequest() {
    const kind = dialog.dataset.document;
    const request = {document: kind, email: byId("doc-email").value.trim(), format: formatSelect.value};
    if (kind === "invoice") return {...request, period: byId("doc-period").value};
    return {
      ...request,
      period_from: byId("doc-from").value,
      period_to: byId("doc-to").value,
      accept: accept.checked,
    };
  }

  byId("order-invoice").addEventListener("click", () => openDocument("invoice"));
  byId("order-call-details").addEventListener("click", () => openDocument("call_details"));
  accept.addEventListener("change", updateSubmit);

  byId("doc-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    showMessage("doc-error", "");
    const result = await callApi("/selfcare/api/orders", orderRequest());
    updateSubmit();
    if (result.ok) {
      dialog.close();
      showMessage("order-result", result.data.message);
    } else {
      showMessage("doc-error", result.data.error);
    }
  });

  render(state);
})();
