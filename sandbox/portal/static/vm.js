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

  /* Re-render the selection header, the table and the tree marks from the server's answer. */
  function render(next) {
    state = next;
    byId("selection-header").textContent = state.header;
    byId("doc-selection").textContent = state.header;
    const tbody = byId("selection-table").tBodies[0];
    tbody.replaceChildren(...state.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.number = row.number;
      tr.append(cell(row.type), cell(row.number), cell(row.folder), cell(row.full_name));
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

  async function changeSelection(body) {
    const result = await callApi("/selfcare/api/selection", body);
    if (result.ok) {
      render(result.data);
      showMessage("order-error", "");
    } else {
      showMessage("order-error", result.data.error);
    }
  }

  /* "account:<n>" or "number:<n>" of a tree item. */
  function dragPayload(item) {
    return item.classList.contains("subscriber")
      ? "number:" + item.dataset.number
      : "account:" + item.dataset.account;
  }

  function addPayload(payload) {
    const [kind, value] = payload.split(":");
    if ((kind === "account" || kind === "number") && value) {
      changeSelection({add: {[kind]: value}});
    }
  }

  const tree = byId("tree");
  const dropzone = byId("selection");

  tree.addEventListener("dragstart", (event) => {
    const item = event.target.closest("li.subscriber, li.account");
    if (!item) return;
    event.stopPropagation();
    event.dataTransfer.setData("text/plain", dragPayload(item));
    event.dataTransfer.effectAllowed = "copy";
  });
  tree.addEventListener("dblclick", (event) => {
    const item = event.target.closest("li.subscriber, li.account");
    if (item) addPayload(dragPayload(item));
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

  /* «Фильтр» shows a text filter over the tree; «Выбранные» keeps only selected numbers. */
  const filterButton = byId("hierarchy-filter");
  const filterInput = byId("tree-filter");
  const selectedButton = byId("hierarchy-selected");
  filterButton.addEventListener("click", () => {
    filterInput.hidden = !filterInput.hidden;
    filterButton.setAttribute("aria-expanded", String(!filterInput.hidden));
    if (!filterInput.hidden) filterInput.focus();
  });
  filterInput.addEventListener("input", () => {
    const needle = filterInput.value.trim();
    document.querySelectorAll("#tree li.account").forEach((li) => {
      li.hidden = needle !== "" && !li.textContent.includes(needle);
    });
  });
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

  byId("order-invoice").addEventListener("click", () => {
    if (refusedOrder()) return;
    showMessage("doc-error", "");
    byId("doc-selection").textContent = state.header;
    dialog.showModal();
    byId("doc-email").focus();
  });
  byId("order-call-details").addEventListener("click", () => {
    if (!refusedOrder()) showMessage("order-error", TEXTS.unavailable);
  });

  byId("doc-cancel").addEventListener("click", () => dialog.close());
  byId("doc-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = byId("doc-submit");
    submit.disabled = true;
    showMessage("doc-error", "");
    const result = await callApi("/selfcare/api/orders", {
      document: "invoice",
      period: byId("doc-period").value,
      email: byId("doc-email").value.trim(),
      format: byId("doc-format").value,
    });
    submit.disabled = false;
    if (result.ok) {
      dialog.close();
      showMessage("order-result", result.data.message);
    } else {
      showMessage("doc-error", result.data.error);
    }
  });

  render(state);
})();
