// /api/docs: Swagger UI over /api/v1/openapi.json (the CSP allows only scripts from this site: no inline code).
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-url"),
    domNode: node,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    // calls made with "Try it out" carry the session cookie; mutating ones need the page's CSRF token
    withCredentials: true
  });
}());
