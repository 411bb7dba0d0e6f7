// The dashboard's only script besides htmx: copy buttons and selects that submit their form.
// (Kept out of the pages so the Content-Security-Policy can forbid inline script.)
document.addEventListener("click", (event) => {
  const id = event.target.dataset && event.target.dataset.copy;
  if (id) navigator.clipboard.writeText(document.getElementById(id).textContent);
});
document.addEventListener("change", (event) => {
  if (event.target.dataset && event.target.dataset.autosubmit !== undefined) event.target.form.submit();
});
