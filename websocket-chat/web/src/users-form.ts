import type { UserRecord } from "../../src/contracts/events.js";
import { h } from "./dom.js";
import type { UsersApi } from "./users-api.js";

export interface UserForm {
  element: HTMLFormElement;
  /** The id of the user being edited, if any. */
  editing(): number | undefined;
  startEditing(user: UserRecord): void;
  stopEditing(): void;
}

/** The create/edit form above the table: "Create user", or "Save #id" while editing one. */
export function createUserForm(api: UsersApi): UserForm {
  let editing: number | undefined;
  const nameInput = h("input", { name: "name", placeholder: "Name", maxlength: 100, required: true, "aria-label": "Name" });
  const emailInput = h("input", { name: "email", type: "email", placeholder: "Email", required: true, "aria-label": "Email" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create user");
  const cancel = h("button", { type: "button", hidden: true, onclick: () => stopEditing() }, "Cancel");
  const formError = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "user-form card", onsubmit: (e: Event) => void save(e) },
    nameInput,
    emailInput,
    submit,
    cancel,
    formError,
  );

  async function save(e: Event) {
    e.preventDefault();
    formError.textContent = "";
    const body = { name: nameInput.value.trim(), email: emailInput.value.trim() };
    try {
      if (editing === undefined) await api("POST", "", body);
      else await api("PUT", `/${editing}`, body);
      stopEditing();
    } catch (error) {
      formError.textContent = (error as Error).message;
    }
  }

  function startEditing(user: UserRecord) {
    editing = user.id;
    nameInput.value = user.name;
    emailInput.value = user.email;
    submit.textContent = `Save #${user.id}`;
    cancel.hidden = false;
    nameInput.focus();
  }

  function stopEditing() {
    editing = undefined;
    form.reset();
    submit.textContent = "Create user";
    cancel.hidden = true;
    formError.textContent = "";
  }

  return { element: form, editing: () => editing, startEditing, stopEditing };
}
