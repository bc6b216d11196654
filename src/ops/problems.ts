/**
 * The pages a problem document's `type` points to (RFC 9457 §3.1.1: the type URI "is encouraged to
 * provide human-readable documentation"): one per error code, and an index, rendered from the error
 * catalogue the server answers from, so the pages cannot describe codes the server does not send.
 */
import { errorCatalogue, type ErrorCode } from '../platform/errors.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Catalogue prose: HTML-escaped, with `code` spans. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** The pages' one inline style block; its hash is in their Content-Security-Policy. */
export const PROBLEM_PAGE_STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
code{font:0.9em ui-monospace,monospace;background:#f2f2f2;padding:0.1em 0.3em;border-radius:3px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:0.3rem 0.5rem;border-bottom:1px solid #ddd}
.status{font-weight:600}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Remit API</title><style>${PROBLEM_PAGE_STYLE}</style></head>
<body>
${body}
</body>
</html>
`;
}

export function problemTypePage(code: ErrorCode): string {
  const entry = errorCatalogue[code];
  return page(
    entry.title,
    `<p><a href="../problems">All problem types</a></p>
<h1>${escapeHtml(entry.title)}</h1>
<p><span class="status">${entry.status}</span> · <code>${code}</code></p>
<h2>What it means</h2>
<p>${prose(entry.meaning)}</p>
<h2>What to do</h2>
<p>${prose(entry.action)}</p>
<p>Every problem document carries <code>request_id</code>; quote it when asking about a request.</p>`,
  );
}

export function problemIndexPage(): string {
  const rows = (Object.keys(errorCatalogue) as ErrorCode[])
    .map((code) => `<tr><td class="status">${errorCatalogue[code].status}</td><td><a href="problems/${code}"><code>${code}</code></a></td><td>${escapeHtml(errorCatalogue[code].title)}</td></tr>`)
    .join('\n');
  return page(
    'Problem types',
    `<h1>Problem types</h1>
<p>Every error answer is an RFC 9457 <code>application/problem+json</code> document whose <code>type</code> links to one of these pages.</p>
<table><thead><tr><th>status</th><th>code</th><th>title</th></tr></thead><tbody>
${rows}
</tbody></table>`,
  );
}

/** The page of `code`, or undefined when no such code exists. */
export function problemPageOf(code: string): string | undefined {
  return Object.hasOwn(errorCatalogue, code) ? problemTypePage(code as ErrorCode) : undefined;
}
