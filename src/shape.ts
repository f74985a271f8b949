/**
 * The one test the edge's hand-written shape checks share (a kubelet request, the key ring,
 * token claims, decoded JWTs, record diffs): a JSON object, not null and not an array.
 */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
