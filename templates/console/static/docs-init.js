// The Swagger UI of /docs (gateway/http/docs.py): a file of its own, as the CSP allows no
// inline script. The schema is public; "Authorize" takes a bearer token for "Try it out".
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui",
                                deepLinking: true });
});
