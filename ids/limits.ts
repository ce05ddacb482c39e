// The limits every id meets on its way through the system, in one place. Each downstream system
// has its own; an id the platform accepts or derives must fit all of them (test/ids proves it).

/** Ids a client may supply (loans, investors, borrowers): 1–64 of [A-Za-z0-9_-]. */
export const CLIENT_ID_MAX = 64;
export const CLIENT_ID_CHARS = 'A-Za-z0-9_-';
export const CLIENT_ID_PATTERN = `^[${CLIENT_ID_CHARS}]{1,${CLIENT_ID_MAX}}$`;
export const CLIENT_ID_RE = new RegExp(CLIENT_ID_PATTERN);

/**
 * The gateway's order number (gateway/protocol.ts ORDER_NO_PATTERN) and memo (its order routes).
 */
export const GATEWAY_ORDER_NO_MAX = 64;
export const GATEWAY_MEMO_MAX = 128;

/** Temporal's default limit on a workflow id (dynamic config limit.maxIDLength). */
export const TEMPORAL_WORKFLOW_ID_MAX = 1000;

/**
 * Fastify's limit on one path parameter (maxParamLength, default 100), raised in api/app.ts so
 * every id the platform derives can be named in a path. Over it, fastify answers 414.
 */
export const API_PATH_PARAM_MAX = 256;
