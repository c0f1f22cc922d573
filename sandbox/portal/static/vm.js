/* «Операции с номерами»: drag and drop into the selection, the order panel and the «Документ» window
   (one window for the invoice; a wizard of steps for the call details). */
(function () {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const W = "ctl00_MainContent_wndDocument";
  const TEXTS = JSON.parse(byId("ctl00_MainContent_hfTexts").textContent);
  let state = JSON.parse(byId("ctl00_MainContent_hfSelection").textContent);

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

  function showMessage(element, text) {
    element.textContent = text || "";
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

  const orderResult = byId("ctl00_MainContent_lblOrderResult");
  const orderError = byId("ctl00_MainContent_lblOrderError");
  const selectionHeader = byId("ctl00_MainContent_lblSelection");
  const selectionTable = byId("ctl00_MainContent_gvSelection");
  const windowSelection = byId(W + "_lblSelection");
  const windowChosen = byId(W + "_lblChosen");

  /* Re-render the selection header, the table and the tree marks from the server's answer. */
  function render(next) {
    state = next;
    selectionHeader.textContent = state.header;
    windowSelection.textContent = state.header;
    windowChosen.textContent = state.chosen;
    const tbody = selectionTable.tBodies[0];
    tbody.replaceChildren(...state.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.number = row.number;
      tr.append(cell(row.type), cell(row.number), cell(row.folder), cell(row.full_name), removeCell());
      return tr;
    }));
    const selected = new Set(state.rows.map((row) => row.number));
    document.querySelectorAll(".tree li.subscriber").forEach((li) => {
      li.classList.toggle("selected", selected.has(li.dataset.number));
    });
    document.querySelectorAll(".tree li.account").forEach((li) => {
      li.classList.toggle("selected", li.querySelector("li.subscriber.selected") !== null);
    });
  }

  /* Send one change of the selection; resolve to whether the server accepted it. */
  async function changeSelection(body) {
    const result = await callApi("/selfcare/api/selection", body);
    if (result.ok) {
      render(result.data);
      showMessage(orderError, "");
    } else {
      showMessage(orderError, result.data.error);
    }
    return result.ok;
  }

  const tree = byId("ctl00_MainContent_pnlTree");
  const dropzone = byId("ctl00_MainContent_pnlSelection");
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
  byId("ctl00_MainContent_btnClear").addEventListener("click", () => changeSelection({clear: true}));
  selectionTable.addEventListener("click", (event) => {
    const button = event.target.closest("button.remove");
    if (button) changeSelection({remove: {number: button.closest("tr").dataset.number}});
  });

  /* «Фильтр» (or Enter in «Номер или лицевой счёт») asks the server for the matching
     accounts and numbers, page by page; «Выбранные» keeps only selected numbers of this page. */
  const selectedButton = byId("ctl00_MainContent_btnSelected");
  selectedButton.addEventListener("click", () => {
    const pressed = selectedButton.getAttribute("aria-pressed") !== "true";
    selectedButton.setAttribute("aria-pressed", String(pressed));
    tree.classList.toggle("only-selected", pressed);
  });

  /* «Заказать документ»: the menu, refused while the selection cannot be ordered. */
  const toggle = byId("ctl00_MainContent_btnOrderDocument");
  const menu = byId("ctl00_MainContent_mnuDocuments");
  const dialog = byId(W);

  function showMenu(shown) {
    menu.hidden = !shown;
    toggle.setAttribute("aria-expanded", String(shown));
  }

  toggle.addEventListener("click", () => showMenu(menu.hidden));

  /* Close the menu once a document is chosen; show why it cannot be ordered, if so. */
  function refusedOrder() {
    showMenu(false);
    showMessage(orderResult, "");
    showMessage(orderError, state.order_error);
    return Boolean(state.order_error);
  }

  /* The «Документ» window: the invoice in one window, the call details in steps
     (period → delivery → format → confirmation), each step's part shown alone. */
  const form = byId(W + "_frm");
  const submit = byId(W + "_btnOrder");
  const accept = byId(W + "_wzDetails_chkAccept");
  const formatSelect = byId(W + "_ddlFormat");
  const email = byId(W + "_txtEmail");
  const dateFrom = byId(W + "_wzDetails_txtDateFrom");
  const dateTo = byId(W + "_wzDetails_txtDateTo");
  const windowError = byId(W + "_lblError");
  const LAST_STEP = 4;
  const DAY = /^(\d{2})\.(\d{2})\.(\d{4})$/;
  const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

  /* Whether a part of the window is shown for this document at this step. */
  function partShown(element, kind, step) {
    const documents = element.dataset.for;
    if (documents && !documents.split(" ").includes(kind)) return false;
    const steps = element.dataset.step;
    return kind !== "call_details" || !steps || steps.split(" ").includes(String(step));
  }

  /* «Заказать» waits for «Я принимаю правила использования системы» where the document asks for it. */
  function updateSubmit() {
    submit.disabled = dialog.dataset.document === "call_details" && !accept.checked;
  }

  function showStep(step) {
    const kind = dialog.dataset.document;
    dialog.dataset.step = String(step);
    dialog.querySelectorAll("[data-for], [data-step]").forEach((element) => {
      if (element instanceof HTMLOptionElement) return;
      element.hidden = !partShown(element, kind, step);
    });
    showMessage(windowError, "");
    if (kind === "call_details" && step === LAST_STEP) {
      dialog.querySelector('[data-summary="period"]').textContent = dateFrom.value.trim() + " – " + dateTo.value.trim();
      dialog.querySelector('[data-summary="email"]').textContent = email.value.trim();
      dialog.querySelector('[data-summary="format"]').textContent = formatSelect.value;
    }
    updateSubmit();
  }

  function isDay(text) {
    const match = DAY.exec(text.trim());
    if (!match) return false;
    const [day, month, year] = match.slice(1).map(Number);
    const parsed = new Date(year, month - 1, day);
    return parsed.getFullYear() === year && parsed.getMonth() === month - 1 && parsed.getDate() === day;
  }

  /* What keeps the current step from going on, if anything (the portal checks everything again). */
  function stepProblem(step) {
    if (step === 1 && !(isDay(dateFrom.value) && isDay(dateTo.value))) return TEXTS.date_invalid;
    if (step === 2 && !EMAIL.test(email.value.trim())) return TEXTS.email_invalid;
    return "";
  }

  /* Open the window for "invoice" or "call_details", unless the selection cannot be ordered. */
  function openDocument(kind) {
    if (refusedOrder()) return;
    dialog.dataset.document = kind;
    byId(W + "_lblDocument").textContent = TEXTS.kinds[kind];
    formatSelect.querySelectorAll("option").forEach((option) => {
      const offered = option.dataset.for.split(" ").includes(kind);
      option.hidden = !offered;
      option.disabled = !offered;
    });
    formatSelect.value = formatSelect.querySelector("option:not([disabled])").value;
    accept.checked = false;
    windowSelection.textContent = state.header;
    windowChosen.textContent = state.chosen;
    showStep(1);
    dialog.showModal();
    (kind === "invoice" ? email : dateFrom).focus();
  }

  /* The order request for the document the window shows. */
  function orderRequest() {
    const kind = dialog.dataset.document;
    const request = {document: kind, email: email.value.trim(), format: formatSelect.value};
    if (kind === "invoice") return {...request, period: byId(W + "_ddlPeriod").value};
    return {
      ...request,
      period_from: dateFrom.value.trim(),
      period_to: dateTo.value.trim(),
      accept: accept.checked,
    };
  }

  menu.querySelectorAll("[data-document]").forEach((item) => {
    item.addEventListener("click", () => openDocument(item.dataset.document));
  });
  accept.addEventListener("change", updateSubmit);

  dialog.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => {
      const step = Number(dialog.dataset.step);
      if (button.dataset.action === "cancel") {
        dialog.close();
      } else if (button.dataset.action === "previous") {
        showStep(Math.max(1, step - 1));
      } else {
        const problem = stepProblem(step);
        if (problem) showMessage(windowError, problem);
        else showStep(Math.min(LAST_STEP, step + 1));
      }
    });
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (dialog.dataset.document === "call_details" && Number(dialog.dataset.step) !== LAST_STEP) return;
    submit.disabled = true;
    showMessage(windowError, "");
    const result = await callApi("/selfcare/api/orders", orderRequest());
    updateSubmit();
    if (result.ok) {
      dialog.close();
      showMessage(orderResult, result.data.message);
    } else {
      showMessage(windowError, result.data.error);
    }
  });

  render(state);
})();
