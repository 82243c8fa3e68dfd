// Protocol sniffing for the shared port: an HTTP/2 connection with prior knowledge (h2c) starts
// with the client connection preface (RFC 9113, section 3.4); anything else is HTTP/1.x.

/** The HTTP/2 client connection preface, 24 bytes. */
export const HTTP2_PREFACE: Buffer = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * What the first bytes of a connection say: "h2" (the whole preface arrived), "http1" (a byte
 * differs from the preface), or "more" (all bytes so far match a prefix of the preface: wait for
 * more before deciding).
 */
export type Sniffed = "h2" | "http1" | "more";

export function sniffProtocol(head: Uint8Array): Sniffed {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  for (let i = 0; i < n; i++) {
    if (head[i] !== HTTP2_PREFACE[i]) return "http1";
  }
  return head.length >= HTTP2_PREFACE.length ? "h2" : "more";
}
