// The join token as the SDK reads it, without verifying it (only the hub can): its `role`, a
// hint before the hub says who we are (observers do not ask for a camera), and its `exp`, which
// says when to ask the app for a fresh token (`JoinOptions.getToken`) so that the hub does not
// close the session when the token expires (close 4006). Pure functions.

/**
 * Ask for a fresh token this long before the current one expires…
 */
export const REFRESH_LEAD_MS = 60_000;
/**
 * …or, for a token with less than five times that left, once this share of what is left has
 * passed (a 100 s token is refreshed after 80 s).
 */
export const REFRESH_AT_SHARE = 0.8;
/** A refresh that failed (the app's `getToken` or the hub said no) is tried again after this. */
export const REFRESH_RETRY_MS = 10_000;
/** The longest delay `setTimeout` takes (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The claims of a JWT, unverified; null when `token` is not a JWT with a JSON object inside.
 * @param {string} token
 * @returns {Record<string, unknown> | null}
 */
export function tokenClaims(token) {
  try {
    const part = token.split('.')[1] ?? '';
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}

/** The `role` claim, unverified: a hint only (the hub's `welcome` is what counts). @param {string} token */
export function tokenRole(token) {
  const role = tokenClaims(token)?.role;
  return typeof role === 'string' ? role : null;
}

/** The `exp` claim (seconds since the epoch), unverified; null without one. @param {string} token */
export function tokenExpiry(token) {
  const exp = tokenClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
}

/**
 * How long from `now` until a token that expires at `exp` should be replaced: 60 s before it
 * expires, or after 80 % of its remaining lifetime when that is less than 5 minutes; 0 when it
 * has expired.
 * @param {number} exp seconds since the epoch
 * @param {number} now milliseconds since the epoch
 */
export function refreshDelayMs(exp, now) {
  const left = exp * 1000 - now;
  if (!(left > 0)) return 0;
  return Math.min(MAX_TIMER_MS, Math.max(left - REFRESH_LEAD_MS, left * REFRESH_AT_SHARE));
}
