import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeHeaderBlock, HpackDecoder, HpackError } from "../../../src/protocol/h2/hpack.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

function series(limit: number, steps: [string, Record<string, string>][]): void {
  const d = new HpackDecoder(limit);
  for (const [block, want] of steps) {
    const got: Record<string, string> = {};
    d.decode(hex(block), got);
    assert.deepEqual(got, want);
  }
}

test("RFC 7541 C.4: requests with Huffman coding and the dynamic table", () => {
  const base = { ":method": "GET", ":scheme": "http", ":path": "/", ":authority": "www.example.com" };
  series(4096, [
    ["8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", base],
    ["8286 84be 5886 a8eb 1064 9cbf", { ...base, "cache-control": "no-cache" }],
    [
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
      { ...base, ":scheme": "https", ":path": "/index.html", "custom-key": "custom-value" },
    ],
  ]);
});

test("RFC 7541 C.6: responses with Huffman coding and evictions in a 256-byte table", () => {
  const first = {
    ":status": "302",
    "cache-control": "private",
    date: "Mon, 21 Oct 2013 20:13:21 GMT",
    location: "https://www.example.com",
  };
  series(256, [
    [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      first,
    ],
    ["4883 640e ffc1 c0bf", { ...first, ":status": "307" }],
    [
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      {
        ":status": "200",
        "cache-control": "private",
        date: "Mon, 21 Oct 2013 20:13:22 GMT",
        location: "https://www.example.com",
        "content-encoding": "gzip",
        "set-cookie": "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
      },
    ],
  ]);
});

test("the encoder's blocks decode to the same fields, static names and long values included", () => {
  const fields: [string, string][] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", "127.0.0.1:7000"],
    [":path", "/sluice.v1.CanalService/Get"],
    ["content-type", "application/grpc+proto"],
    ["te", "trailers"],
    ["sluice-client-epoch", "12884901890"],
    ["x-long", "v".repeat(300)],
  ];
  const got: Record<string, string> = {};
  new HpackDecoder().decode(encodeHeaderBlock(fields), got);
  assert.deepEqual(got, Object.fromEntries(fields));
});

test("malformed blocks are errors, not wrong headers", () => {
  const bad = [
    "be", // dynamic index 62 in an empty table
    "0f", // truncated integer
    "4085 f2b2 4a84 ff", // Huffman string longer than its bytes
    "0081 ff00", // Huffman padding of 8 ones (EOS prefix too long)
    "0081 0000", // Huffman padding that is not ones
    "82 3fe1 1f", // a table size update after a field
    "3fe2 1f", // a table size above the limit (4096 + 1)
  ];
  for (const b of bad) {
    assert.throws(() => new HpackDecoder().decode(hex(b), {}), HpackError, b);
  }
});
