// Renders /openapi.json into #reference. A file of its own, not an inline script: the
// page's Content-Security-Policy allows only the app's own scripts.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
    persistAuthorization: false,
  });
});
