// The dashboard's only script besides htmx: copy buttons, selects that submit their form,
// confirmations before destructive actions, and the notice of what an action did.
// (Kept out of the pages so the Content-Security-Policy can forbid inline script.)
document.addEventListener("click", (event) => {
  const id = event.target.dataset && event.target.dataset.copy;
  if (!id) return;
  navigator.clipboard.writeText(document.getElementById(id).textContent);
  event.target.textContent = "Copied";
});
document.addEventListener("change", (event) => {
  if (event.target.dataset && event.target.dataset.autosubmit !== undefined) event.target.form.submit();
});
// A form with data-confirm asks first; declining sends nothing.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
// After a destructive action the server redirects with ?done=<what>; say it, from a fixed list.
const DONE = {
  "secret-deleted": "The secret was deleted. Its versions stay in the audit log; reads now answer 410.",
  "vault-deleted": "The vault was deleted with its secrets, and its keys were destroyed.",
  "policy-revoked": "The policy was revoked: the next request under it is refused.",
  "link-revoked": "The share link was revoked.",
  "key-revoked": "The API key was revoked, with every token exchanged for it.",
  "member-removed": "The member was removed: their sessions, keys, agents and shares are ended.",
  "invite-revoked": "The invitation was revoked.",
  "rule-deleted": "The IP rule was deleted.",
  "env-var-deleted": "The variable was taken out of this environment (and deleted, if it was its last one).",
  "binding-deleted": "The binding was deleted: the agent can no longer call through it.",
};
document.addEventListener("DOMContentLoaded", () => {
  const done = DONE[new URLSearchParams(window.location.search).get("done")];
  const main = document.querySelector("main h1");
  if (!done || !main) return;
  const notice = document.createElement("p");
  notice.className = "notice";
  notice.setAttribute("role", "status");
  notice.textContent = done;
  main.after(notice);
});
