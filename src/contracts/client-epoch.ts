// The consumer fencing header: a gateway sends the epoch (czxid) of the consumer's hold of a
// clientId ({root}/destinations/{d}/{clientId}/running) with every call it relays to a
// server; the server refuses older epochs for that clientId (see docs/api.md, "Fencing").

/** Request header, a decimal integer: the epoch of the caller's hold of the request's clientId. */
export const CLIENT_EPOCH_HEADER = "sluice-client-epoch";
