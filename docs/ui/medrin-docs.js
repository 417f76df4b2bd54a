/* medrin-docs.js - starts Swagger UI on /api/v1/docs (a file, not an inline script, so the
 * page's Content-Security-Policy can stay "script-src 'self'"). "Try it out" sends its
 * requests to the same origin (the document's servers entry is "/"); the Authorize button
 * takes an access token for bearerAuth and keeps it for the page's lifetime only. */
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    docExpansion: "list",
    tryItOutEnabled: false,
    persistAuthorization: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
