/**
 * The Content Security Policy of every page TicketLab serves, in the desktop app (app://)
 * and in browser mode alike: no remote content, no inline scripts, no eval, no framing;
 * styles inline only for React's style props.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
