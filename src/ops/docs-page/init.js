// Starts Swagger UI on the reference page. A file of its own rather than an inline script, so the
// page's Content-Security-Policy can forbid inline scripts.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: false,
});
