// GET /status on servers and gateways: a page that holds no data. Its script asks
// AdminService.ListDestinations from the same origin, so the admin API's authentication and
// authorization decide what anyone sees, exactly as for any other caller; the page and its
// files are served to anyone. Everything comes from this process (no other origin), under a
// Content-Security-Policy that allows nothing else.
import { readFileSync } from "node:fs";
import type { HttpRequest, HttpResponse } from "../protocol/index.js";
import { CSS, HTML, ICON } from "./document.js";

export const STATUS_PATH = "/status";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Asset {
  type: string;
  body: () => string;
}

/** The browser scripts, compiled beside this file by src/status-page/browser/tsconfig.json. */
function script(name: string): Asset {
  let text: string | undefined;
  return {
    type: "text/javascript; charset=utf-8",
    body: () => {
      text ??= readFileSync(new URL(`./browser/${name}`, import.meta.url), "utf8")
        // Its source map is not served.
        .replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
      return text;
    },
  };
}

const ASSETS = new Map<string, Asset>([
  [STATUS_PATH, { type: "text/html; charset=utf-8", body: () => HTML }],
  [`${STATUS_PATH}/style.css`, { type: "text/css; charset=utf-8", body: () => CSS }],
  [`${STATUS_PATH}/icon.svg`, { type: "image/svg+xml", body: () => ICON }],
  [`${STATUS_PATH}/page.js`, script("page.js")],
  [`${STATUS_PATH}/model.js`, script("model.js")],
]);

/** Answers the status page's paths (true), or leaves the request to others (false). */
export function serveStatusPage(req: HttpRequest, res: HttpResponse): boolean {
  const path = (req.url ?? "").split("?")[0] as string;
  const asset = ASSETS.get(path);
  if (!asset) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    res.end("use GET\n");
    return true;
  }
  let body: string;
  try {
    body = asset.body();
  } catch (err) {
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
    res.end(
      `the status page's script is missing (${(err as Error).message}): build with \`npm run build\`\n`,
    );
    return true;
  }
  res.writeHead(200, {
    "content-type": asset.type,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-cache",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  if (req.method === "HEAD") res.end();
  else res.end(body);
  return true;
}
